/*
 * torchserve_fetch.c: a model given by URL at start (`--models
 * name=https://host/x.mar`, load_models), as TorchServe loads one: the
 * URL must match one of allowed_urls (each a whole-URL regex, case
 * insensitive, in PCRE as nginx's own torchserve_allowed_urls: Java's
 * syntax, \d and all; TorchServe's default "file://.*|http(s)?://.*"), file://
 * is read in place, http(s):// is downloaded with libcurl into
 * <run dir>/models/ under the URL's last path segment.
 */

#define PCRE2_CODE_UNIT_WIDTH 8

#include <curl/curl.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torchserve.h"


#define TSC_FETCH_MAX  ((curl_off_t) 8 << 30)     /* the archive limit */


static int tsc_url_allowed(const tsc_settings_t *s, const char *url);


int
tsc_is_url(const char *path)
{
    return strncasecmp(path, "http://", 7) == 0
           || strncasecmp(path, "https://", 8) == 0
           || strncasecmp(path, "file://", 7) == 0;
}


int
tsc_fetch(const tsc_settings_t *s, const char *url, const char *run_dir,
    char *local, size_t len, char *err, size_t errlen)
{
    long         code;
    char         dir[4096], tmp[4096];
    FILE        *f;
    CURL        *curl;
    CURLcode     rc;
    const char  *name, *q;
    size_t       nlen;

    if (!tsc_url_allowed(s, url)) {
        snprintf(err, errlen, "model \"%s\": the URL is not among "
                 "allowed_urls", url);
        return -1;
    }

    if (strncasecmp(url, "file://", 7) == 0) {
        snprintf(local, len, "%s", url + 7);
        return 0;
    }

    /* the last path segment, without a query: the archive's file name */
    q = strpbrk(url + 8, "?#");
    q = q ? q : url + strlen(url);
    for (name = q; name > url && name[-1] != '/'; name--) {
        /* void */
    }

    nlen = q - name;

    if (nlen == 0 || (nlen <= 2 && name[0] == '.')) {
        snprintf(err, errlen, "model \"%s\": the URL names no file", url);
        return -1;
    }

    snprintf(dir, sizeof(dir), "%s/models", run_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }

    snprintf(local, len, "%s/%.*s", dir, (int) nlen, name);
    snprintf(tmp, sizeof(tmp), "%s.part", local);

    f = fopen(tmp, "wb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }

    curl = curl_easy_init();
    if (curl == NULL) {
        fclose(f);
        unlink(tmp);
        snprintf(err, errlen, "model \"%s\": curl_easy_init failed", url);
        return -1;
    }

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, TSC_FETCH_MAX);

    rc = curl_easy_perform(curl);
    code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);

    if (fclose(f) != 0 || rc != CURLE_OK) {
        unlink(tmp);
        snprintf(err, errlen, "model \"%s\": download failed: %s (HTTP %ld)",
                 url, curl_easy_strerror(rc), code);
        return -1;
    }

    if (rename(tmp, local) != 0) {
        unlink(tmp);
        snprintf(err, errlen, "%s: %s", local, strerror(errno));
        return -1;
    }

    return 0;
}


static int
tsc_url_allowed(const tsc_settings_t *s, const char *url)
{
    int                  ok, rc;
    char                *list, *item, *save;
    size_t               off;
    const char          *urls;
    pcre2_code          *re;
    pcre2_match_data    *md;

    urls = s->allowed_urls ? s->allowed_urls : "file://.*|http(s)?://.*";

    list = strdup(urls);
    if (list == NULL) {
        return 0;
    }

    ok = 0;

    for (item = strtok_r(list, ",", &save); item != NULL && !ok;
         item = strtok_r(NULL, ",", &save))
    {
        /* the whole URL, as Java's String.matches */
        re = pcre2_compile((PCRE2_SPTR) item, PCRE2_ZERO_TERMINATED,
                           PCRE2_CASELESS | PCRE2_ANCHORED
                           | PCRE2_ENDANCHORED, &rc, &off, NULL);
        if (re == NULL) {
            fprintf(stderr, "torchserve: allowed_urls: \"%s\" is not a "
                    "regular expression (at %zu): skipped\n", item, off);
            continue;
        }

        md = pcre2_match_data_create_from_pattern(re, NULL);
        if (md != NULL) {
            ok = pcre2_match(re, (PCRE2_SPTR) url, PCRE2_ZERO_TERMINATED, 0,
                             0, md, NULL) >= 0;
            pcre2_match_data_free(md);
        }

        pcre2_code_free(re);
    }

    free(list);

    return ok;
}
