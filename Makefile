# valuelens: common tasks. `make demo` runs the benchmark end to end on the built-in tiny model.
VALUELENS = node bin/valuelens.js

.PHONY: build demo demo-dilemmas test bench lint clean

node_modules/.package-lock.json: package-lock.json
	npm ci

build: node_modules/.package-lock.json
	npm run build

demo: build
	$(VALUELENS) run --model tiny --via sample --repeats 2 --out runs/demo --progress lines
	$(VALUELENS) report runs/demo --quiet
	@echo
	@sed -n '1,12p' runs/demo/report.md

demo-dilemmas: build
	$(VALUELENS) run --model tiny --suite dilemmas --persona none,moderate,max,incongruous --limit 4 --out runs/demo-dilemmas --progress lines
	@echo
	@sed -n '1,14p' runs/demo-dilemmas/report.md

test: node_modules/.package-lock.json
	npm test

bench: build
	node --import tsx bench/run.ts

lint: node_modules/.package-lock.json
	npm run lint

clean:
	rm -rf dist runs/demo runs/demo-dilemmas
