# Host unit tests for the iperf servers' pure parts: the iperf 2 header
# reader (every way TCP can split it), the JSON reader/writer and iperf3's
# parameter and result objects.
UNIT_TESTS += iperf2_hdr iperf_json
UNIT_SRCS_iperf2_hdr := tests/unit/test_iperf2_hdr.c net/apps/iperf2_hdr.c net/apps/iperf_rx.c
UNIT_SRCS_iperf_json := tests/unit/test_iperf_json.c net/apps/iperf_json.c net/apps/json_out.c net/apps/iperf3_proto.c \
	net/apps/iperf_rx.c
