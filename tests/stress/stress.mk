# Host concurrency test: the real drivers/virtio/virtqueue.c against a device
# thread on the other core (tests/stress/run.sh, stress_ring.c). In `make
# test`, bounded by STRESS_SECONDS per configuration (4 configurations).
# `make stress-mutants` also shows each full fence's removal is caught; it
# needs two CPUs that really run in parallel, so it is not part of `make test`.
TEST_EXTRA += stress-test
.PHONY: stress-test stress-mutants
stress-test:
	@HOSTCC=$(HOSTCC) BUILD=$(BUILD) tests/stress/run.sh
stress-mutants:
	@HOSTCC=$(HOSTCC) BUILD=$(BUILD) tests/stress/run.sh --mutants
