/* The demo site, embedded at build time from net/apps/www/ (paths relative to the
 * repository root, where the build runs). Each file gets <name>_start and
 * <name>_end symbols; see net/apps/www.h. Not NUL-terminated. */
#define WWW_FILE(sym, path)          \
    .global sym##_start, sym##_end;  \
    .balign 16;                      \
sym##_start:                         \
    .incbin path;                    \
sym##_end:

    .section .rodata
WWW_FILE(www_index_html, "net/apps/www/index.html")
WWW_FILE(www_stats_html, "net/apps/www/stats.html")
WWW_FILE(www_style_css, "net/apps/www/style.css")

    .section .note.GNU-stack,"",@progbits
