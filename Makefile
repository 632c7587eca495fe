# valuelens: common tasks. `make demo` runs the benchmark end to end on the built-in tiny model.
VALUELENS = node bin/valuelens.js

.PHONY: build demo demo-dilemmas test test-quick bench-tests bench bench-gpu bench-html screenshots chaos typecheck lint format clean llama-server cuda cuda-restore

node_modules/.package-lock.json: package-lock.json
	npm ci

build: node_modules/.package-lock.json
	npm run build

demo: build
	$(VALUELENS) run --model tiny --via sample --repeats 2 --out runs/demo --progress lines
	$(VALUELENS) report runs/demo --quiet
	@echo
	@sed -n '1,12p' runs/demo/report.md
	@echo
	@printf 'The whole report, figures and every question, in one page (open it in a browser): '
	@$(VALUELENS) view runs/demo

demo-dilemmas: build
	$(VALUELENS) run --model tiny --suite dilemmas --persona none,moderate,max,incongruous --limit 4 --out runs/demo-dilemmas --progress lines
	@echo
	@sed -n '1,14p' runs/demo-dilemmas/report.md
	@echo
	@printf 'The whole report in one page (open it in a browser): '
	@$(VALUELENS) view runs/demo-dilemmas

# npm test: build, type check (src, test, bench), Biome, then vitest (and the fidelity line).
test: node_modules/.package-lock.json
	npm test

# The pure-logic tier (test/helpers/tiers.ts), for the edit-test loop: about 15 s.
test-quick: node_modules/.package-lock.json
	npm run test:quick

# npm test's steps timed, every file's and test's duration into bench/results/tests.json (--label after).
bench-tests: node_modules/.package-lock.json
	npm run bench:tests

# The bench model (letters vs paper, lanes), then the host's CPU per question against the vocabulary
# (bench/vocabulary.ts, goal <= 2) and prompt tokens against the minimum with 16 lanes (bench/prefixes.ts).
bench: build
	node --import tsx bench/run.ts
	node --import tsx bench/vocabulary.ts
	node --import tsx bench/prefixes.ts

# On a GPU box: the full VIA letters protocol on Llama-3-8B's shape (Q4_0) against llama-bench's
# prefill and a many-slot llama-server; writes bench/results/gpu.json (see bench/gpu.ts).
bench-gpu: build
	test -x $(LLAMA_BUILD)/build/bin/llama-bench || $(MAKE) llama-server CMAKE_ARGS="-DGGML_CUDA=ON $(CMAKE_ARGS)"
	node --import tsx bench/gpu.ts

# report.html of a synthetic full-size VIA run (73,920 records) opened in headless Chromium:
# the time until the page is ready (target < 3 s); writes bench/results/html.json.
bench-html: build
	node --import tsx bench/html.ts

# The README's screenshots (docs/img/*.png), taken by the page tests in headless Chromium.
screenshots: node_modules/.package-lock.json
	npm run screenshots

# SIGKILL runs at random moments, resume them, count lost / doubled / wrong records; bad inputs table.
chaos: build
	node --import tsx bench/chaos.ts --kills 50

typecheck: node_modules/.package-lock.json
	npm run typecheck

# The type check of src/, test/ and bench/, then Biome's linter and format check.
lint: node_modules/.package-lock.json
	npm run typecheck
	npm run lint

# Biome formats the tree in place.
format: node_modules/.package-lock.json
	npm run format

clean:
	rm -rf dist runs/demo runs/demo-dilemmas

# On a GPU box whose GPU node-llama-cpp's CUDA prebuilt has no code for (an H100/H200, sm_90,
# with a CUDA 13.0 driver): compile llama.cpp's CUDA backend for it with nvcc from the bundled
# source and install it in place of the prebuilt's (scripts/build-cuda.mjs). CUDA_ARCH=90 to choose.
cuda: node_modules/.package-lock.json
	node scripts/build-cuda.mjs $(if $(CUDA_ARCH),--arch $(CUDA_ARCH),)

cuda-restore:
	node scripts/build-cuda.mjs --restore

# llama.cpp's llama-server built from the exact source node-llama-cpp embeds (same engine as the
# embedded backend). CPU by default; e.g. `make llama-server CMAKE_ARGS=-DGGML_CUDA=ON` on a GPU box.
LLAMA_BUILD = .cache/llama.cpp-build
CMAKE_ARGS ?=
llama-server: node_modules/.package-lock.json
	rm -rf $(LLAMA_BUILD) && mkdir -p $(LLAMA_BUILD)
	git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle $(LLAMA_BUILD)/src
	cmake -S $(LLAMA_BUILD)/src -B $(LLAMA_BUILD)/build -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(LLAMA_BUILD)/build --target llama-server llama-bench -j
	@echo "built $(LLAMA_BUILD)/build/bin/llama-server and llama-bench"
