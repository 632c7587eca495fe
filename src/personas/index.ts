export * from "./map.js";
export * from "./personas.js";
