import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { checkArgv, commandNamed } from "../../src/cli/strict-args.ts";

// A tree shaped like the client commands: a group with subcommands, positionals, aliases.
const list = defineCommand({ meta: { name: "list" }, args: { status: { type: "string" }, json: { type: "boolean" } } });
const create = defineCommand({ meta: { name: "create", alias: "new" }, args: { workerId: { type: "string" }, profile: { type: "string", alias: "p" } } });
const workers = defineCommand({ meta: { name: "workers" }, args: { url: { type: "string" } }, subCommands: { list, create } });
const send = defineCommand({
  meta: { name: "send" },
  args: { worker: { type: "positional" }, text: { type: "positional" }, wait: { type: "boolean" } },
});
const root = defineCommand({ meta: { name: "yoi-runtime" }, subCommands: { workers, send } });

const refusal = async (argv: string[]): Promise<string> => {
  try {
    await checkArgv(root, argv, "yoi-runtime");
  } catch (error) {
    if (error instanceof Error && error.name === "UsageError") return error.message;
    throw error;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
};

describe("strict command lines over any citty tree", () => {
  test("accepts what the tree declares, returning the command that runs", async () => {
    expect((await checkArgv(root, ["workers", "list", "--status", "idle", "--json"], "yoi-runtime")).path).toEqual(["yoi-runtime", "workers", "list"]);
    expect((await checkArgv(root, ["workers", "--url", "http://x", "new", "--worker-id=a", "-p", "echo"], "yoi-runtime")).command).toBe(create);
    expect((await checkArgv(root, ["workers", "create", "--workerId", "a"], "yoi-runtime")).command).toBe(create);
    expect((await checkArgv(root, ["send", "w1", "hello", "--wait"], "yoi-runtime")).command).toBe(send);
    expect((await checkArgv(root, ["send", "w1", "--", "--not-a-flag"], "yoi-runtime")).command).toBe(send);
    expect((await checkArgv(root, ["workers", "list", "--no-json"], "yoi-runtime")).command).toBe(list);
  });

  test("refuses unknown flags at the level they appear", async () => {
    expect(await refusal(["workers", "list", "--url", "x"])).toBe(
      "unknown flag --url for `yoi-runtime workers list` (known: --status, --json)",
    );
    expect(await refusal(["workers", "--json", "list"])).toStartWith("unknown flag --json for `yoi-runtime workers`");
    expect(await refusal(["send", "w", "t", "-w"])).toStartWith("unknown flag -w for `yoi-runtime send`");
    expect(await refusal(["workers", "create", "--no-profile"])).toStartWith("unknown flag --no-profile");
  });

  test("refuses value flags without a value and booleans with one", async () => {
    expect(await refusal(["workers", "list", "--status"])).toBe("--status needs a value");
    expect(await refusal(["workers", "list", "--status", "--json"])).toBe("--status needs a value");
    expect(await refusal(["workers", "create", "-p"])).toBe("-p needs a value");
    expect(await refusal(["workers", "list", "--json=yes"])).toStartWith("--json takes no value");
  });

  test("refuses unknown commands; stray arguments only where no positional is declared", async () => {
    expect(await refusal(["wrokers"])).toBe(`unknown command "wrokers" for \`yoi-runtime\` (did you mean "workers"?)`);
    expect(await refusal(["frob"])).toBe(`unknown command "frob" for \`yoi-runtime\` (commands: workers, send)`);
    expect(await refusal(["workers", "list", "--stauts", "idle"])).toBe("unknown flag --stauts for `yoi-runtime workers list` (did you mean --status?)");
    expect(await refusal(["workers", "lst"])).toStartWith(`unknown command "lst" for \`yoi-runtime workers\``);
    expect(await refusal(["workers", "list", "extra"])).toBe(`unexpected argument "extra" for \`yoi-runtime workers list\` (it takes none)`);
    // `send` declares positionals and reads them itself, however many there are.
    expect((await checkArgv(root, ["send", "w", "several", "words"], "yoi-runtime")).command).toBe(send);
  });

  test("--help resolves the command named before it, ignoring flags and values", async () => {
    expect((await commandNamed(root, ["workers", "--url", "x", "new"], "yoi-runtime")).path).toEqual(["yoi-runtime", "workers", "new"]);
    expect((await commandNamed(root, ["nothing"], "yoi-runtime")).command).toBe(root);
  });
});
