/*
 * tools/lab.d/sharefs.c: the lab's shared directory, as a passthrough FUSE
 * filesystem.
 *
 *   sharefs BACKING MOUNTPOINT PIDFILE
 *
 * Why: libvirt refuses a live migration of a file disk unless the file is on
 * a filesystem it knows to be shared ("Migration without shared storage is
 * unsafe"; qemuMigrationSrcIsSafe -> virFileIsSharedFS, by statfs magic: NFS,
 * GFS2, OCFS2, CIFS, Ceph...; or a FUSE mount of type fuse.glusterfs or
 * fuse.quobyte).  This machine's kernel has none of those filesystems except
 * FUSE.  The two lab hosts do see one same directory, so the storage really
 * is shared; this mounts it as type "fuse.glusterfs" so libvirt agrees, and
 * the guests keep cache='none' disks and migrate without VIR_MIGRATE_UNSAFE.
 *
 * Speaks the kernel FUSE protocol directly (<linux/fuse.h>, no libfuse),
 * single-threaded.  Every open is FOPEN_DIRECT_IO, so all I/O goes through
 * to BACKING's page cache and every opener (both hosts' QEMUs, tests reading
 * the image) sees the same bytes.  O_DIRECT from QEMU is accepted and served
 * with buffered I/O on BACKING (same machine, so still coherent).
 * Mounts, writes PIDFILE, then runs in the background until unmounted.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAXWRITE (1024 * 1024)
#define BUFSZ (MAXWRITE + 65536)

struct node {
    char *path;             /* relative to the backing root, "." for root */
    uint64_t nlookup;
    int used;
};

static struct node *nodes;
static size_t nnodes;
static int rootfd, fusefd;
static unsigned char *buf, *obuf;

static uint64_t node_get(const char *path)
{
    size_t i, fr = 0;
    for (i = 2; i < nnodes; i++) {     /* 0 unused, 1 = FUSE_ROOT_ID */
        if (nodes[i].used && strcmp(nodes[i].path, path) == 0)
            return i;
        if (!nodes[i].used && !fr)
            fr = i;
    }
    if (!fr) {
        size_t n = nnodes * 2;
        struct node *nn = realloc(nodes, n * sizeof *nn);
        if (!nn)
            return 0;
        memset(nn + nnodes, 0, (n - nnodes) * sizeof *nn);
        nodes = nn;
        fr = nnodes;
        nnodes = n;
    }
    if (!(nodes[fr].path = strdup(path)))
        return 0;
    nodes[fr].nlookup = 0;
    nodes[fr].used = 1;
    return fr;
}

static const char *npath(uint64_t id)
{
    if (id == FUSE_ROOT_ID)
        return ".";
    if (id >= nnodes || !nodes[id].used)
        return NULL;
    return nodes[id].path;
}

static char *child(uint64_t dir, const char *name)
{
    const char *d = npath(dir);
    char *p;
    if (!d || strchr(name, '/'))
        return NULL;
    if (strcmp(d, ".") == 0)
        return strdup(name);
    if (asprintf(&p, "%s/%s", d, name) < 0)
        return NULL;
    return p;
}

static void reply(uint64_t unique, int err, const void *data, size_t len)
{
    struct fuse_out_header oh;
    struct iovec iov[2];
    oh.len = sizeof oh + (err ? 0 : len);
    oh.error = err ? -err : 0;
    oh.unique = unique;
    iov[0].iov_base = &oh;
    iov[0].iov_len = sizeof oh;
    iov[1].iov_base = (void *) data;
    iov[1].iov_len = err ? 0 : len;
    if (writev(fusefd, iov, 2) < 0 && errno != ENOENT)
        (void) 0;       /* the request was interrupted: nothing to do */
}

static void fill_attr(struct fuse_attr *a, const struct stat *st)
{
    memset(a, 0, sizeof *a);
    a->ino = st->st_ino;
    a->size = st->st_size;
    a->blocks = st->st_blocks;
    a->atime = st->st_atim.tv_sec;
    a->mtime = st->st_mtim.tv_sec;
    a->ctime = st->st_ctim.tv_sec;
    a->atimensec = st->st_atim.tv_nsec;
    a->mtimensec = st->st_mtim.tv_nsec;
    a->ctimensec = st->st_ctim.tv_nsec;
    a->mode = st->st_mode;
    a->nlink = st->st_nlink;
    a->uid = st->st_uid;
    a->gid = st->st_gid;
    a->rdev = st->st_rdev;
    a->blksize = st->st_blksize;
}

static void reply_entry(uint64_t unique, const char *path)
{
    struct fuse_entry_out e;
    struct stat st;
    uint64_t id;
    if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        reply(unique, errno, NULL, 0);
        return;
    }
    if (!(id = node_get(path))) {
        reply(unique, ENOMEM, NULL, 0);
        return;
    }
    nodes[id].nlookup++;
    memset(&e, 0, sizeof e);
    e.nodeid = id;
    e.generation = 1;
    e.entry_valid = 1;
    e.attr_valid = 1;
    fill_attr(&e.attr, &st);
    reply(unique, 0, &e, sizeof e);
}

static void reply_attr(uint64_t unique, const char *path, int fd)
{
    struct fuse_attr_out ao;
    struct stat st;
    int r = fd >= 0 ? fstat(fd, &st)
                    : fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW);
    if (r < 0) {
        reply(unique, errno, NULL, 0);
        return;
    }
    memset(&ao, 0, sizeof ao);
    ao.attr_valid = 1;
    fill_attr(&ao.attr, &st);
    reply(unique, 0, &ao, sizeof ao);
}

static void forget(uint64_t id, uint64_t n)
{
    if (id == FUSE_ROOT_ID || id >= nnodes || !nodes[id].used)
        return;
    nodes[id].nlookup = nodes[id].nlookup > n ? nodes[id].nlookup - n : 0;
    if (!nodes[id].nlookup) {
        free(nodes[id].path);
        nodes[id].path = NULL;
        nodes[id].used = 0;
    }
}

static void renamed(const char *from, const char *to)
{
    size_t i, fl = strlen(from);
    for (i = 2; i < nnodes; i++) {
        char *p = nodes[i].path, *np;
        if (!nodes[i].used)
            continue;
        if (strcmp(p, from) == 0) {
            np = strdup(to);
        } else if (strncmp(p, from, fl) == 0 && p[fl] == '/') {
            if (asprintf(&np, "%s%s", to, p + fl) < 0)
                np = NULL;
        } else {
            continue;
        }
        if (np) {
            free(p);
            nodes[i].path = np;
        }
    }
}

static void handle(struct fuse_in_header *h, void *in)
{
    const char *p = npath(h->nodeid);
    char *c = NULL, *c2 = NULL;
    uint64_t u = h->unique;

    if (!p && h->opcode != FUSE_INIT && h->opcode != FUSE_FORGET &&
        h->opcode != FUSE_BATCH_FORGET && h->opcode != FUSE_INTERRUPT &&
        h->opcode != FUSE_DESTROY) {
        reply(u, ESTALE, NULL, 0);
        return;
    }
    switch (h->opcode) {
    case FUSE_INIT: {
        struct fuse_init_in *ii = in;
        struct fuse_init_out io;
        memset(&io, 0, sizeof io);
        io.major = FUSE_KERNEL_VERSION;
        io.minor = FUSE_KERNEL_MINOR_VERSION;
        if (ii->major != FUSE_KERNEL_VERSION) {
            reply(u, EPROTO, NULL, 0);
            exit(1);
        }
        if (ii->minor < io.minor)
            io.minor = ii->minor;
        io.max_readahead = ii->max_readahead;
        io.flags = (ii->flags & (FUSE_BIG_WRITES | FUSE_MAX_PAGES));
        io.max_background = 16;
        io.congestion_threshold = 12;
        io.max_write = MAXWRITE;
        io.time_gran = 1;
        io.max_pages = MAXWRITE / 4096;
        reply(u, 0, &io, sizeof io);
        return;
    }
    case FUSE_DESTROY:
        reply(u, 0, NULL, 0);
        exit(0);
    case FUSE_INTERRUPT:
        return;
    case FUSE_FORGET:
        forget(h->nodeid, ((struct fuse_forget_in *) in)->nlookup);
        return;
    case FUSE_BATCH_FORGET: {
        struct fuse_batch_forget_in *bf = in;
        struct fuse_forget_one *f = (void *) (bf + 1);
        uint32_t i;
        for (i = 0; i < bf->count; i++)
            forget(f[i].nodeid, f[i].nlookup);
        return;
    }
    case FUSE_LOOKUP:
        if (!(c = child(h->nodeid, in))) {
            reply(u, ENOENT, NULL, 0);
            return;
        }
        reply_entry(u, c);
        break;
    case FUSE_GETATTR: {
        struct fuse_getattr_in *gi = in;
        reply_attr(u, p, (gi->getattr_flags & FUSE_GETATTR_FH) ? (int) gi->fh : -1);
        return;
    }
    case FUSE_SETATTR: {
        struct fuse_setattr_in *si = in;
        int fd = (si->valid & FATTR_FH) ? (int) si->fh : -1;
        if ((si->valid & FATTR_MODE) && fchmodat(rootfd, p, si->mode & 07777, 0) < 0)
            goto err;
        if ((si->valid & (FATTR_UID | FATTR_GID)) &&
            fchownat(rootfd, p, (si->valid & FATTR_UID) ? si->uid : (uid_t) -1,
                     (si->valid & FATTR_GID) ? si->gid : (gid_t) -1,
                     AT_SYMLINK_NOFOLLOW) < 0)
            goto err;
        if (si->valid & FATTR_SIZE) {
            int r;
            if (fd >= 0) {
                r = ftruncate(fd, si->size);
            } else {
                int t = openat(rootfd, p, O_WRONLY | O_CLOEXEC);
                r = t < 0 ? -1 : ftruncate(t, si->size);
                if (t >= 0)
                    close(t);
            }
            if (r < 0)
                goto err;
        }
        if (si->valid & (FATTR_ATIME | FATTR_MTIME)) {
            struct timespec ts[2];
            ts[0].tv_nsec = UTIME_OMIT;
            ts[1].tv_nsec = UTIME_OMIT;
            if (si->valid & FATTR_ATIME) {
                ts[0].tv_sec = si->atime;
                ts[0].tv_nsec = (si->valid & FATTR_ATIME_NOW) ? UTIME_NOW : si->atimensec;
            }
            if (si->valid & FATTR_MTIME) {
                ts[1].tv_sec = si->mtime;
                ts[1].tv_nsec = (si->valid & FATTR_MTIME_NOW) ? UTIME_NOW : si->mtimensec;
            }
            if (utimensat(rootfd, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
                goto err;
        }
        reply_attr(u, p, fd);
        return;
    }
    case FUSE_READLINK: {
        char t[4096];
        ssize_t n = readlinkat(rootfd, p, t, sizeof t);
        if (n < 0)
            goto err;
        reply(u, 0, t, n);
        return;
    }
    case FUSE_SYMLINK: {
        const char *name = in, *target = name + strlen(name) + 1;
        if (!(c = child(h->nodeid, name)))
            goto inval;
        if (symlinkat(target, rootfd, c) < 0)
            goto err;
        reply_entry(u, c);
        break;
    }
    case FUSE_MKNOD: {
        struct fuse_mknod_in *mi = in;
        if (!(c = child(h->nodeid, (char *) (mi + 1))))
            goto inval;
        if (mknodat(rootfd, c, mi->mode & ~mi->umask, mi->rdev) < 0)
            goto err;
        reply_entry(u, c);
        break;
    }
    case FUSE_MKDIR: {
        struct fuse_mkdir_in *mi = in;
        if (!(c = child(h->nodeid, (char *) (mi + 1))))
            goto inval;
        if (mkdirat(rootfd, c, mi->mode & ~mi->umask) < 0)
            goto err;
        reply_entry(u, c);
        break;
    }
    case FUSE_UNLINK:
    case FUSE_RMDIR:
        if (!(c = child(h->nodeid, in)))
            goto inval;
        if (unlinkat(rootfd, c, h->opcode == FUSE_RMDIR ? AT_REMOVEDIR : 0) < 0)
            goto err;
        reply(u, 0, NULL, 0);
        break;
    case FUSE_RENAME:
    case FUSE_RENAME2: {
        uint64_t nd;
        unsigned fl = 0;
        const char *on;
        if (h->opcode == FUSE_RENAME) {
            nd = ((struct fuse_rename_in *) in)->newdir;
            on = (char *) in + sizeof(struct fuse_rename_in);
        } else {
            nd = ((struct fuse_rename2_in *) in)->newdir;
            fl = ((struct fuse_rename2_in *) in)->flags;
            on = (char *) in + sizeof(struct fuse_rename2_in);
        }
        if (!(c = child(h->nodeid, on)) || !(c2 = child(nd, on + strlen(on) + 1)))
            goto inval;
        if (renameat2(rootfd, c, rootfd, c2, fl) < 0)
            goto err;
        renamed(c, c2);
        reply(u, 0, NULL, 0);
        break;
    }
    case FUSE_LINK: {
        struct fuse_link_in *li = in;
        const char *op = npath(li->oldnodeid);
        if (!op || !(c = child(h->nodeid, (char *) (li + 1))))
            goto inval;
        if (linkat(rootfd, op, rootfd, c, 0) < 0)
            goto err;
        reply_entry(u, c);
        break;
    }
    case FUSE_OPEN:
    case FUSE_CREATE: {
        struct fuse_open_out oo;
        int fd, fl;
        memset(&oo, 0, sizeof oo);
        if (h->opcode == FUSE_OPEN) {
            fl = ((struct fuse_open_in *) in)->flags;
            fd = openat(rootfd, p, (fl & ~(O_DIRECT | O_NOFOLLOW)) | O_CLOEXEC);
            if (fd < 0)
                goto err;
            oo.fh = fd;
            oo.open_flags = FOPEN_DIRECT_IO;
            reply(u, 0, &oo, sizeof oo);
        } else {
            struct fuse_create_in *ci = in;
            struct {
                struct fuse_entry_out e;
                struct fuse_open_out o;
            } r;
            struct stat st;
            uint64_t id;
            if (!(c = child(h->nodeid, (char *) (ci + 1))))
                goto inval;
            fd = openat(rootfd, c, (ci->flags & ~(O_DIRECT | O_NOFOLLOW)) | O_CREAT | O_CLOEXEC,
                        ci->mode & ~ci->umask);
            if (fd < 0)
                goto err;
            if (fstat(fd, &st) < 0 || !(id = node_get(c))) {
                close(fd);
                goto err;
            }
            nodes[id].nlookup++;
            memset(&r, 0, sizeof r);
            r.e.nodeid = id;
            r.e.generation = 1;
            r.e.entry_valid = 1;
            r.e.attr_valid = 1;
            fill_attr(&r.e.attr, &st);
            r.o.fh = fd;
            r.o.open_flags = FOPEN_DIRECT_IO;
            reply(u, 0, &r, sizeof r);
        }
        break;
    }
    case FUSE_READ: {
        struct fuse_read_in *ri = in;
        size_t n = ri->size > MAXWRITE ? MAXWRITE : ri->size;
        ssize_t r = pread((int) ri->fh, obuf, n, ri->offset);
        if (r < 0)
            goto err;
        reply(u, 0, obuf, r);
        return;
    }
    case FUSE_WRITE: {
        struct fuse_write_in *wi = in;
        struct fuse_write_out wo;
        ssize_t r = pwrite((int) wi->fh, wi + 1, wi->size, wi->offset);
        if (r < 0)
            goto err;
        memset(&wo, 0, sizeof wo);
        wo.size = r;
        reply(u, 0, &wo, sizeof wo);
        return;
    }
    case FUSE_STATFS: {
        struct fuse_statfs_out so;
        struct statvfs sv;
        if (fstatvfs(rootfd, &sv) < 0)
            goto err;
        memset(&so, 0, sizeof so);
        so.st.blocks = sv.f_blocks;
        so.st.bfree = sv.f_bfree;
        so.st.bavail = sv.f_bavail;
        so.st.files = sv.f_files;
        so.st.ffree = sv.f_ffree;
        so.st.bsize = sv.f_bsize;
        so.st.frsize = sv.f_frsize;
        so.st.namelen = sv.f_namemax;
        reply(u, 0, &so, sizeof so);
        return;
    }
    case FUSE_RELEASE:
        close((int) ((struct fuse_release_in *) in)->fh);
        reply(u, 0, NULL, 0);
        return;
    case FUSE_FLUSH:
        reply(u, 0, NULL, 0);
        return;
    case FUSE_FSYNC: {
        struct fuse_fsync_in *fi = in;
        int r = (fi->fsync_flags & 1) ? fdatasync((int) fi->fh) : fsync((int) fi->fh);
        if (r < 0)
            goto err;
        reply(u, 0, NULL, 0);
        return;
    }
    case FUSE_FALLOCATE: {
        struct fuse_fallocate_in *fa = in;
        if (fallocate((int) fa->fh, fa->mode, fa->offset, fa->length) < 0)
            goto err;
        reply(u, 0, NULL, 0);
        return;
    }
    case FUSE_LSEEK: {
        struct fuse_lseek_in *li = in;
        struct fuse_lseek_out lo;
        off_t r = lseek((int) li->fh, li->offset, li->whence);
        if (r < 0)
            goto err;
        lo.offset = r;
        reply(u, 0, &lo, sizeof lo);
        return;
    }
    case FUSE_ACCESS:
        if (faccessat(rootfd, p, ((struct fuse_access_in *) in)->mask, AT_EACCESS) < 0)
            goto err;
        reply(u, 0, NULL, 0);
        return;
    case FUSE_OPENDIR: {
        struct fuse_open_out oo;
        int fd = openat(rootfd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            goto err;
        memset(&oo, 0, sizeof oo);
        oo.fh = fd;
        reply(u, 0, &oo, sizeof oo);
        return;
    }
    case FUSE_READDIR: {
        /* offsets are entry indexes; re-read from the start every time */
        struct fuse_read_in *ri = in;
        int fd = dup((int) ri->fh);
        DIR *d;
        struct dirent *de;
        uint64_t i = 0;
        size_t len = 0, max = ri->size > MAXWRITE ? MAXWRITE : ri->size;
        if (fd < 0)
            goto err;
        if (!(d = fdopendir(fd))) {
            close(fd);
            goto err;
        }
        rewinddir(d);
        while ((de = readdir(d))) {
            struct fuse_dirent *fd2;
            size_t nl = strlen(de->d_name), rl = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + nl);
            if (i++ < ri->offset)
                continue;
            if (len + rl > max)
                break;
            fd2 = (void *) (obuf + len);
            memset(fd2, 0, rl);
            fd2->ino = de->d_ino;
            fd2->off = i;
            fd2->namelen = nl;
            fd2->type = de->d_type;
            memcpy(fd2->name, de->d_name, nl);
            len += rl;
        }
        closedir(d);
        reply(u, 0, obuf, len);
        return;
    }
    case FUSE_RELEASEDIR:
        close((int) ((struct fuse_release_in *) in)->fh);
        reply(u, 0, NULL, 0);
        return;
    case FUSE_FSYNCDIR:
        reply(u, 0, NULL, 0);
        return;
    default:
        reply(u, ENOSYS, NULL, 0);
        return;
    }
    free(c);
    free(c2);
    return;
inval:
    errno = EINVAL;
err:
    reply(u, errno ? errno : EIO, NULL, 0);
    free(c);
    free(c2);
}

int main(int argc, char **argv)
{
    char opts[256];
    struct stat st;
    pid_t pid;
    FILE *pf;

    if (argc != 4) {
        fprintf(stderr, "usage: sharefs BACKING MOUNTPOINT PIDFILE\n");
        return 2;
    }
    if ((rootfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        fstat(rootfd, &st) < 0) {
        perror(argv[1]);
        return 1;
    }
    if ((fusefd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) < 0) {
        perror("/dev/fuse");
        return 1;
    }
    snprintf(opts, sizeof opts,
             "fd=%d,rootmode=%o,user_id=0,group_id=0,allow_other",
             fusefd, st.st_mode & S_IFMT);
    if (mount("ferry-lab-shared", argv[2], "fuse.glusterfs",
              MS_NOSUID | MS_NODEV, opts) < 0) {
        perror("mount fuse.glusterfs");
        return 1;
    }
    buf = malloc(BUFSZ);
    obuf = malloc(MAXWRITE + 4096);
    nnodes = 64;
    nodes = calloc(nnodes, sizeof *nodes);
    if (!buf || !obuf || !nodes)
        return 1;

    if ((pid = fork()) < 0) {
        perror("fork");
        return 1;
    }
    if (pid > 0) {
        if (!(pf = fopen(argv[3], "w")) || fprintf(pf, "%d\n", (int) pid) < 0 ||
            fclose(pf) != 0) {
            perror(argv[3]);
            kill(pid, SIGKILL);
            umount2(argv[2], MNT_DETACH);
            return 1;
        }
        return 0;
    }
    setsid();
    if (chdir("/") < 0)
        return 1;
    {
        int dn = open("/dev/null", O_RDWR);
        if (dn >= 0) {
            dup2(dn, 0);
            dup2(dn, 1);
            dup2(dn, 2);
            if (dn > 2)
                close(dn);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        ssize_t n = read(fusefd, buf, BUFSZ);
        struct fuse_in_header *h = (void *) buf;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
                continue;
            return errno == ENODEV ? 0 : 1;     /* ENODEV: unmounted */
        }
        if ((size_t) n < sizeof *h || h->len != (size_t) n)
            continue;
        errno = 0;
        handle(h, buf + sizeof *h);
    }
}
