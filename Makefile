# The course's commands. On a fresh machine: `make course` (run every notebook, build the website) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WHEELS ?= build/wheelhouse

.PHONY: setup setup-offline wheelhouse course site student lab test lint bench clean

setup: $(STAMP)  ## create .venv with the exact pins of requirements.txt (CPU torch)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m course doctor
	touch $(STAMP)

wheelhouse:  ## online, once: every pinned package (CPU torch) and the course package as wheels in WHEELS, with SHA256SUMS
	$(PYTHON) course/wheelhouse.py --out $(WHEELS) $(if $(TORCH_INDEX),--torch-index $(TORCH_INDEX))

setup-offline:  ## create .venv with no network from a wheelhouse: make setup-offline WHEELS=DIR (checksums checked first)
	$(PYTHON) course/wheelhouse.py --verify $(WHEELS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-index --find-links $(WHEELS) -r requirements.txt
	$(PY) -m pip install --quiet --no-index --find-links $(WHEELS) --no-deps -e .
	$(PY) -m course doctor
	touch $(STAMP)

course: setup  ## execute every notebook headless (default profile) into build/, then the website build/site/
	$(PY) -m course run
	$(PY) -m course site

site: setup  ## the course as a static website in build/site/ (runs only notebooks without an up-to-date copy in build/)
	$(PY) -m course site

student: setup  ## student copies without solutions in build/student/, full ones in build/solutions/
	$(PY) -m course student

lab: setup  ## open the notebooks in JupyterLab
	$(VENV)/bin/jupyter lab notebooks/

lint: setup
	$(VENV)/bin/ruff check course tests benchmarks site conftest.py

test: setup lint  ## unit and data tests, then every notebook under nbval in the smoke profile
	COURSE_PROFILE=smoke $(PY) -m pytest --nbval-lax --nbval-current-env

bench: setup  ## notebook timings in the smoke and cpu profiles, as JSON
	$(PY) benchmarks/notebooks.py --profile smoke cpu

clean:
	rm -rf build artifacts .pytest_cache .ruff_cache
