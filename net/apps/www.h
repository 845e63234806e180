/* The demo site's files, embedded by net/apps/www_data.S (.incbin). */
#ifndef NET_WWW_H
#define NET_WWW_H

extern const unsigned char www_index_html_start[], www_index_html_end[];
extern const unsigned char www_stats_html_start[], www_stats_html_end[];
extern const unsigned char www_style_css_start[], www_style_css_end[];

#endif
