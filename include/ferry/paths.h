/*
 * paths.h: ferryd's built-in file locations and version, fixed at build
 * time by ./configure (config.mk -> -D flags in the Makefile), so that a
 * ferryd built with --sysconfdir=/etc reads /etc/ferry/ferry.conf without
 * -c.  The fallbacks are the defaults of a plain ./configure.
 */
#ifndef FERRY_PATHS_H
#define FERRY_PATHS_H

#ifndef FERRY_SYSCONFDIR
#define FERRY_SYSCONFDIR "/usr/local/etc"
#endif
#ifndef FERRY_LOCALSTATEDIR
#define FERRY_LOCALSTATEDIR "/var"
#endif
#ifndef FERRY_RUNSTATEDIR
#define FERRY_RUNSTATEDIR "/run"
#endif
#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

#define FERRY_CONF_PATH FERRY_SYSCONFDIR "/ferry/ferry.conf"
#define FERRY_POLICY_PATH FERRY_SYSCONFDIR "/ferry/policy.json"
#define FERRY_STORE_PATH FERRY_LOCALSTATEDIR "/lib/ferry/ferry.db"
#define FERRY_SOCKET_PATH FERRY_RUNSTATEDIR "/ferry/ferryd.sock"

#endif
