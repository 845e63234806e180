# Host unit tests for the HTTP parser and the /stats.json formatter.
UNIT_TESTS += http_parser http_parser_runs stats_json
UNIT_SRCS_http_parser := tests/unit/test_http_parser.c net/apps/http_parser.c
UNIT_SRCS_http_parser_runs := tests/unit/test_http_parser_runs.c net/apps/http_parser.c
UNIT_SRCS_stats_json := tests/unit/test_stats_json.c net/apps/stats_json.c net/apps/json_out.c
