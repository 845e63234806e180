# SPIN model of the virtio/NAPI notification protocol (tests/model/run.sh):
# the model as implemented passes, each protocol step removed (MUTANT_*)
# gives a counterexample. Bounded by MODEL_MEMLIM (MB) and MODEL_DEPTH.
TEST_EXTRA += model-test
.PHONY: model-test
model-test:
	@HOSTCC=$(HOSTCC) BUILD=$(BUILD) tests/model/run.sh
