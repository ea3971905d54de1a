# Quick start: `make demo` (train the tutorial's GAN) and `make test` (the test suite).
# Both create .venv, install gankit with the CPU build of torch pinned in constraints.txt, and
# make sure Fashion-MNIST is on this machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_ARGS ?=

.PHONY: demo test test-quick test-fast lint data browser speech music emoji words poems install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

data: $(STAMP)
	@scripts/ensure-fashion-mnist.sh $(BIN)/gankit

browser:
	@scripts/ensure-apt.sh "the report's browser test" chromium:chromium chromedriver:chromium-driver

speech:
	@scripts/ensure-apt.sh "the spoken-digits tests" espeak-ng:espeak-ng

music:
	@scripts/ensure-apt.sh "the notes tests" fluidsynth:fluidsynth /usr/share/sounds/sf2/FluidR3_GM.sf2:fluid-soundfont-gm

emoji:
	@scripts/ensure-apt.sh "the emoji tests" /usr/share/unicode/emoji/emoji-test.txt:unicode-data /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf:fonts-noto-color-emoji

words:
	@scripts/ensure-apt.sh "the text tests (the words dataset)" /usr/share/dict/words:wamerican

poems:
	@scripts/ensure-apt.sh "the text tests (the tang-poems dataset)" /usr/share/games/fortunes/tang300:fortunes-zh

demo: data
	$(BIN)/gankit train $(DEMO_ARGS)

# one pytest-xdist worker a core, each test handed to the first free one
test: data browser speech music emoji words poems
	$(BIN)/python -m pytest -q -n auto --dist worksteal

# test-fast: the name it had before
test-quick test-fast: data browser speech music emoji words poems
	$(BIN)/python -m pytest -q -n auto --dist worksteal -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
