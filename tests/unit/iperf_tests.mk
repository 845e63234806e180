# Host unit tests for the iperf servers' pure parts: the iperf 2 header
# reader (every way TCP can split it), the JSON reader/writer and iperf3's
# parameter and result objects.
UNIT_TESTS += iperf2_hdr iperf_json
UNIT_SRCS_iperf2_hdr := tests/unit/test_iperf2_hdr.c net/iperf2_hdr.c net/iperf_rx.c
UNIT_SRCS_iperf_json := tests/unit/test_iperf_json.c net/iperf_json.c net/json_out.c net/iperf3_proto.c \
	net/iperf_rx.c
