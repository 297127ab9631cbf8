# The two commands the README opens with: `make demo` and `make test`.
# Each creates .venv if missing and installs what it needs into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/.reelwright/prefect

.PHONY: demo demo-zh test test-slow test-all model bench install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[model,test,postgres]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@mkdir -p $(PREFECT_HOME)
	$(BIN)/reelwright render examples/the_last_delivery.fountain --out out/demo

demo-zh: $(STAMP)
	@mkdir -p $(PREFECT_HOME)
	$(BIN)/reelwright render examples/hongbao.md --out out/demo-zh

test: $(STAMP)
	@mkdir -p $(PREFECT_HOME)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m 'slow and not flaky'

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

model: $(STAMP)
	$(BIN)/reelwright model train --preset tiny --out model_core/checkpoints/tiny

bench: $(STAMP)
	$(BIN)/python bench/render.py

clean:
	rm -rf out .reelwright
