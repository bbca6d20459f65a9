/*
 * torchserve_instance.c: the nginx instance a directory started.  Its
 * master's pid is in <run dir>/nginx.pid (nginx writes it); --start
 * runs Debian's nginx on the run directory's nginx.conf and waits until
 * the inference listener answers /ping, --stop sends QUIT (nginx's
 * graceful stop: requests in flight are answered) and waits for the
 * master to go.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "torchserve.h"


#define TSC_NGINX          "/usr/sbin/nginx"
#define TSC_START_WAIT_MS  180000      /* models load before workers serve */
#define TSC_STOP_WAIT_MS   60000


static int tsc_ready(const tsc_settings_t *s);
static int tsc_ping(const tsc_address_t *a, const char *path);
static void tsc_print_address(const tsc_address_t *a);
static void tsc_sleep_ms(long ms);


long
tsc_instance_pid(const char *run_dir)
{
    long   pid;
    char   path[4096];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/nginx.pid", run_dir);

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    if (fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        pid = 0;
    }

    fclose(f);

    /* a pid file left by a master that died is no instance */
    if (pid > 0 && kill((pid_t) pid, 0) != 0 && errno == ESRCH) {
        return 0;
    }

    return pid;
}


int
tsc_instance_start(const tsc_settings_t *s, const char *run_dir, char *err,
    size_t errlen)
{
    int          status;
    long         waited;
    char         conf[4096];
    pid_t        child, done;
    const char  *nginx;

    snprintf(conf, sizeof(conf), "%s/nginx.conf", run_dir);

    /* another nginx binary (or a wrapper, as make test-asan's) may run it */
    nginx = getenv("TORCHSERVE_NGINX");
    if (nginx == NULL || nginx[0] == '\0') {
        nginx = TSC_NGINX;
    }

    child = fork();
    if (child < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }

    if (child == 0) {
        if (s->foreground) {
            execl(nginx, nginx, "-p", run_dir, "-c", conf, "-e",
                  "stderr", "-g", "daemon off;", (char *) NULL);
        } else {
            execl(nginx, nginx, "-p", run_dir, "-c", conf, "-e",
                  "stderr", (char *) NULL);
        }

        fprintf(stderr, "torchserve: %s: %s\n", nginx, strerror(errno));
        _exit(127);
    }

    /*
     * Without --foreground nginx daemonizes: the child exits at once, 0
     * when the configuration was accepted.  With it, the child is the
     * master: it runs until it is stopped.
     */
    for (waited = 0; waited < TSC_START_WAIT_MS; waited += 100) {
        done = waitpid(child, &status, WNOHANG);

        if (done == child) {
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                snprintf(err, errlen, "nginx refused %s (its messages are "
                         "above)", conf);
                return -1;
            }

            if (s->foreground) {
                /* stopped (Ctrl-C) before it answered */
                printf("TorchServe has stopped.\n");
                return 0;
            }

            child = 0;
        }

        if (tsc_ready(s) == 0) {
            break;
        }

        tsc_sleep_ms(100);
    }

    if (waited >= TSC_START_WAIT_MS) {
        snprintf(err, errlen, "nginx started but did not answer within %d "
                 "s: see %s/ts_log.log", TSC_START_WAIT_MS / 1000, run_dir);
        return -1;
    }

    printf("TorchServe (ngx_http_torchserve_module) started: inference ");
    tsc_print_address(&s->inference);
    printf(", management ");
    tsc_print_address(&s->management);

    if (s->metrics_api) {
        printf(", metrics ");
        tsc_print_address(&s->metrics);
    }

    printf("; models: %s; logs in %s\n",
           tsc_conf_loaded()[0] ? tsc_conf_loaded() : "none", run_dir);
    fflush(stdout);

    if (!s->foreground) {
        return 0;
    }

    /* Ctrl-C reaches nginx too (same process group): wait for it */
    signal(SIGINT, SIG_IGN);

    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        /* void */
    }

    printf("TorchServe has stopped.\n");

    return 0;
}


int
tsc_instance_stop(const char *run_dir)
{
    long  pid, waited;

    pid = tsc_instance_pid(run_dir);

    if (pid == 0) {
        printf("TorchServe is not currently running.\n");
        return 0;
    }

    if (kill((pid_t) pid, SIGQUIT) != 0) {
        printf("TorchServe already stopped.\n");
        return 0;
    }

    for (waited = 0; waited < TSC_STOP_WAIT_MS; waited += 100) {
        if (kill((pid_t) pid, 0) != 0 && errno == ESRCH) {
            printf("TorchServe has stopped.\n");
            return 0;
        }

        tsc_sleep_ms(100);
    }

    printf("Stopping TorchServe took too long.\n");

    return 1;
}


static void
tsc_print_address(const tsc_address_t *a)
{
    if (a->port == 0) {
        printf("unix:%s", a->host);
    } else {
        printf("%s://%s:%d", a->tls ? "https" : "http", a->host, a->port);
    }
}


/*
 * 0 when a plain-HTTP listener answers: /ping on the inference address,
 * else the model list or the metrics (the worker processes serve once
 * their models are loaded).  With every listener on TLS, a TCP connect.
 */
static int
tsc_ready(const tsc_settings_t *s)
{
    if (!s->inference.tls) {
        return tsc_ping(&s->inference, "/ping");
    }

    if (!s->management.tls) {
        return tsc_ping(&s->management, "/models");
    }

    if (s->metrics_api && !s->metrics.tls) {
        return tsc_ping(&s->metrics, "/metrics");
    }

    return tsc_ping(&s->inference, NULL);
}


/* 0 when GET path on the address answers 200 (NULL path: it connects) */
static int
tsc_ping(const tsc_address_t *a, const char *path)
{
    int                  fd, rc;
    char                 port[16], buf[512];
    ssize_t              n;
    const char          *host;
    struct addrinfo      hints, *ai;
    struct timeval       tv;
    struct sockaddr_un   un;

    host = strcmp(a->host, "0.0.0.0") == 0 ? "127.0.0.1" : a->host;
    ai = NULL;

    if (a->port == 0) {
        memset(&un, 0, sizeof(un));
        un.sun_family = AF_UNIX;
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", a->host);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        host = "localhost";

    } else {
        snprintf(port, sizeof(port), "%d", a->port);
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;

        if (getaddrinfo(host, port, &hints, &ai) != 0) {
            return -1;
        }

        fd = socket(ai->ai_family, SOCK_STREAM, 0);
    }

    if (fd < 0) {
        if (ai != NULL) {
            freeaddrinfo(ai);
        }
        return -1;
    }

    tv.tv_sec = 2;
    tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    if (ai != NULL) {
        rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
    } else {
        rc = connect(fd, (struct sockaddr *) &un, sizeof(un));
    }

    if (rc != 0 || path == NULL) {
        close(fd);
        return rc == 0 ? 0 : -1;
    }

    snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
             path, host);

    if (write(fd, buf, strlen(buf)) < 0) {
        close(fd);
        return -1;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (n < 12) {
        return -1;
    }

    buf[n] = '\0';

    return strncmp(buf + 9, "200", 3) == 0 ? 0 : -1;
}


static void
tsc_sleep_ms(long ms)
{
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* void */
    }
}
