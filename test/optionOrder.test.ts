import { describe, expect, it } from "vitest";
import { optionOrder } from "../src/questions/optionOrder.js";

describe("balanced option orders", () => {
  for (const n of [2, 4, 6]) {
    it(`every option sits in every position equally often over full cycles (n=${n})`, () => {
      for (const id of ["q/a", "q/b", "letters/stated/Nigeria/Politics/Equality"]) {
        const cycles = 3;
        const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
        for (let r = 0; r < n * cycles; r++) {
          const order = optionOrder(n, r, 7, id);
          expect([...order].sort()).toEqual(Array.from({ length: n }, (_, i) => i));
          order.forEach((option, position) => counts[option]![position]!++);
        }
        for (const row of counts) expect(row).toEqual(new Array(n).fill(cycles));
      }
    });
  }

  it("is a pure function of (n, repeat, seed, question id)", () => {
    expect(optionOrder(4, 3, 1, "x")).toEqual(optionOrder(4, 3, 1, "x"));
    const bySeed = new Set(Array.from({ length: 20 }, (_, s) => optionOrder(4, 0, s, "x").join("")));
    expect(bySeed.size).toBeGreaterThan(5);
    const byId = new Set(Array.from({ length: 20 }, (_, i) => optionOrder(4, 0, 1, `q${i}`).join("")));
    expect(byId.size).toBeGreaterThan(5);
  });

  it("shows a fresh order on every repeat within a cycle", () => {
    const orders = Array.from({ length: 4 }, (_, r) => optionOrder(4, r, 3, "q").join(""));
    expect(new Set(orders).size).toBe(4);
  });

  it("a repeat beyond one cycle starts a new seeded square", () => {
    const cycles = new Set(
      Array.from({ length: 12 }, (_, c) =>
        Array.from({ length: 4 }, (_, r) => optionOrder(4, c * 4 + r, 3, "q").join("")).join("|"),
      ),
    );
    expect(cycles.size).toBeGreaterThan(1);
  });
});
