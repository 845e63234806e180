"""The harness shared by the QEMU tests (tests/qemu) and the benchmark (scripts/bench).

  guest.py    Qemu: one QEMU process with a guest (command line, console reader with line
              times, wait_for/wait_exit/stop), the console-contract regexes, free_port
  httpc.py    HTTP client: http_request/http_get, wait_http, get_stats, Conn (raw keep-alive)
  netns.py    TapNet: a private network namespace holding a tap (host 192.0.2.1/24, guest
              192.0.2.2), in_netns (setns for the calling thread), stale clean-up
  frames.py   Ethernet/IPv4/TCP/UDP/ICMP/ARP frame builders
  pattern.py  the /bytes/N body: pattern, pattern_sha256, stream_check_pattern

Import as `harness` with tests/ on sys.path (tests/qemu/conftest.py and scripts/bench do).
Standard library only.
"""
