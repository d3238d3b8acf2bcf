import { afterAll } from "bun:test";
import { storeContract } from "./contract.ts";
import { cleanScratch, fsHarness, memoryHarness } from "./helpers.ts";

afterAll(cleanScratch);

storeContract(memoryHarness);
// Checkpoints far apart: a crash leaves state.json behind the logs and the journal to replay.
storeContract(() => fsHarness({ checkpoint_interval_ms: 60_000 }));
// Checkpoints right away: a crash finds state.json current and no journal.
storeContract(() => fsHarness({ checkpoint_interval_ms: 1, events_per_segment: 3 }));
storeContract(() => fsHarness({ durability: "none" }));
