# The two commands a newcomer needs: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# program on PATH -> Debian package that provides it
SYSTEM_PROGRAMS := ffmpeg:ffmpeg ffprobe:ffmpeg chromium:chromium chromedriver:chromium-driver
# file that must exist -> Debian package that provides it (a CJK font, so Chinese pages are not drawn as boxes)
SYSTEM_FILES := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc:fonts-wqy-zenhei

.PHONY: setup system-deps test lint demo bench clean i18n

setup: system-deps $(STAMP)

system-deps:
	@missing=""; for pair in $(SYSTEM_PROGRAMS); do prog=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$prog >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	for pair in $(SYSTEM_FILES); do file=$${pair%%:*}; pkg=$${pair##*:}; \
	  test -e $$file || missing="$$missing $$pkg"; done; \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$${missing// /}" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing system packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages: $$missing"; \
	    echo "install them with: sudo apt-get install $$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[all,dev]'
	@touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest

demo: setup
	$(BIN)/emotions demo

# gettext catalogues of the annotation app: extract every msgid, merge it into zh-Hans, compile.
# Translate the new empty entries of annotation_app/locale/zh_Hans/LC_MESSAGES/messages.po, then run it again.
LOCALE := annotation_app/locale
i18n: setup
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project emotions -o $(LOCALE)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -l zh_Hans --no-fuzzy-matching --width 120
	$(BIN)/pybabel compile -d $(LOCALE) --statistics

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench/out
