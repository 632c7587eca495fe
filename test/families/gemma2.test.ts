// The gemma2 family on the embedded engine and a real llama-server: test/families/family.ts.
import { describeFamily } from "./family.js";

describeFamily("gemma2");
