# The two commands at the top of the README. Both build .venv from requirements on first use.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv translations

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

translations: venv
	$(BIN)/pybabel -q compile -d app/translations

demo: venv translations
	SCRM_CONFIG=demo $(BIN)/flask --app wsgi scrm demo

test: venv translations
	$(BIN)/python -m pytest
