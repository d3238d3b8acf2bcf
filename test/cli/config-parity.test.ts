import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanScratch, runCli, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

/**
 * `config` runs every check `serve` runs before it binds or opens the store: for every refusal
 * `serve` knows, `serve`, `config` and `config --check` exit 2, and `serve` and `config` print the
 * same one-sentence message (`config --check` prints nothing).
 */
interface Refusal {
  name: string;
  /** Flags after the command; `{dir}` is the case's working directory. */
  args: string[];
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** The message after `yoi-runtime: `. */
  message: string;
}

const profile = (body: string) => ({ "c.toml": body });
const CASES: Refusal[] = [
  { name: "a flag value outside its choices", args: ["--store", "disk"], message: `--store: must be one of memory, fs (got "disk")` },
  { name: "a malformed --bind", args: ["--bind", "localhost"], message: `--bind: expected HOST:PORT, got "localhost"` },
  { name: "a malformed runtime id", args: ["--runtime-id", "../etc"], message: "--runtime-id: must match" },
  { name: "an unknown default profile", args: ["--default-profile", "ghost"], message: `--default-profile: no profile "ghost" (configured: echo)` },
  { name: "an unknown config key", args: ["--config", "c.toml"], files: { "c.toml": `[sever]\nbind = "127.0.0.1:0"\n` }, message: `{dir}/c.toml: sever: unknown key (did you mean "server"?)` },
  { name: "TOML that does not parse", args: ["--config", "c.toml"], files: { "c.toml": "display_name = \n" }, message: "{dir}/c.toml:1:" },
  { name: "a missing --config file", args: ["--config", "gone.toml"], message: "--config: config file {dir}/gone.toml does not exist" },
  { name: "a missing $YOI_RUNTIME_CONFIG file", args: [], env: { YOI_RUNTIME_CONFIG: "gone.toml" }, message: "$YOI_RUNTIME_CONFIG: config file {dir}/gone.toml does not exist" },
  { name: "a bad ./.yoi/runtime.toml", args: [], files: { ".yoi/runtime.toml": `[log]\nlevel = "loud"\n` }, message: "{dir}/.yoi/runtime.toml: log.level: must be one of" },
  { name: "an unset token variable", args: ["--token-env", "YOI_PARITY_UNSET"], message: "--token-env / auth.token_env: environment variable YOI_PARITY_UNSET is not set" },
  { name: "an empty token variable", args: ["--token-env", "TOK"], env: { TOK: " " }, message: "--token-env / auth.token_env: environment variable TOK is empty" },
  { name: "a missing token file", args: ["--token-file", "nope"], message: "--token-file / auth.token_file: token file {dir}/nope does not exist" },
  { name: "a remote bind without a token", args: ["--bind", "0.0.0.0:0"], message: "--bind / server.bind: refusing to listen on 0.0.0.0:0 without a token" },
  {
    name: "a profile's api_key_env that is unset",
    args: ["--config", "c.toml"],
    files: profile(`[profiles.ai]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\napi_key_env = "YOI_PARITY_NO_KEY"\n`),
    message: "profiles.ai.api_key_env: environment variable YOI_PARITY_NO_KEY is not set",
  },
  {
    name: "a command program that is not on PATH",
    args: ["--config", "c.toml"],
    files: profile(`[profiles.cmd]\nbackend = "command"\ncommand = ["yoi-parity-no-such-program"]\n`),
    message: `profiles.cmd.command: program "yoi-parity-no-such-program" is not found on PATH`,
  },
  {
    name: "an ACP agent program that is not on PATH",
    args: ["--config", "c.toml"],
    files: profile(`[profiles.agent]\nbackend = "acp"\ncommand = ["yoi-parity-no-such-agent", "--acp"]\n`),
    message: `profiles.agent.command: program "yoi-parity-no-such-agent" is not found on PATH`,
  },
  {
    name: "a command path that does not exist",
    args: ["--config", "c.toml"],
    files: profile(`[profiles.cmd]\nbackend = "command"\ncommand = ["/no/such/program"]\n`),
    message: "profiles.cmd.command: /no/such/program does not exist (or is not a file)",
  },
  {
    name: "a command program that is not executable",
    args: ["--config", "c.toml"],
    files: { ...profile(`[profiles.cmd]\nbackend = "command"\ncommand = ["{dir}/script.sh"]\n`), "script.sh": "#!/bin/sh\necho hi\n" },
    message: "profiles.cmd.command: {dir}/script.sh is not executable",
  },
  {
    name: "a command cwd that is not a directory",
    args: ["--config", "c.toml"],
    files: profile(`[profiles.cmd]\nbackend = "command"\ncommand = ["cat"]\ncwd = "{dir}/c.toml"\n`),
    message: "profiles.cmd.cwd: {dir}/c.toml is not a directory",
  },
  {
    name: "a mistyped profile key",
    args: ["--config", "c.toml"],
    files: profile(`[profiles.cmd]\nbackend = "command"\ncomand = ["cat"]\n`),
    message: `{dir}/c.toml: profiles.cmd.comand: unknown key (did you mean "command"?)`,
  },
  {
    name: "the builtin echo profile on another backend",
    args: ["--config", "c.toml"],
    files: profile(`[profiles.echo]\nbackend = "command"\ncommand = ["cat"]\n`),
    message: `{dir}/c.toml: profiles.echo: the builtin "echo" profile cannot use another backend`,
  },
  { name: "a data directory that is a file", args: ["--store", "fs", "--data-dir", "c.toml"], files: { "c.toml": "" }, message: "--data-dir / store.root: {dir}/c.toml is a file, not a directory" },
  {
    name: "a data directory below a file",
    args: ["--store", "fs", "--data-dir", "c.toml/data"],
    files: { "c.toml": "" },
    message: "--data-dir / store.root: cannot create {dir}/c.toml/data: {dir}/c.toml is a file, not a directory",
  },
];

describe("config refuses what serve refuses, with the same message (exit 2)", () => {
  for (const refusal of CASES) {
    test(refusal.name, async () => {
      const dir = scratchDir();
      const fill = (text: string) => text.replaceAll("{dir}", dir);
      for (const [name, text] of Object.entries(refusal.files ?? {})) {
        mkdirSync(join(dir, name, ".."), { recursive: true });
        writeFileSync(join(dir, name), fill(text));
      }
      const args = refusal.args.map(fill);
      const store = args.includes("--store") ? [] : ["--store", "memory"];
      const bind = args.includes("--bind") ? [] : ["--bind", "127.0.0.1:0"];
      const options = { cwd: dir, env: refusal.env ?? {}, killAfterMs: 20_000 };
      const [serve, config, check] = await Promise.all([
        runCli(["serve", ...store, ...bind, ...args], options),
        runCli(["config", ...store, ...bind, ...args], options),
        runCli(["config", "--check", ...store, ...bind, ...args], options),
      ]);
      const expected = `yoi-runtime: ${fill(refusal.message)}`;
      expect({ code: serve.code, stdout: serve.stdout }).toEqual({ code: 2, stdout: "" });
      expect(serve.stderr.split("\n")[0]).toStartWith(expected);
      expect(serve.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(config).toEqual({ ...serve });
      expect(check).toEqual({ code: 2, stdout: "", stderr: "" });
    });
  }

  test("control: a configuration serve accepts is accepted by config and config --check (exit 0)", async () => {
    const dir = scratchDir();
    writeFileSync(join(dir, "script.sh"), "#!/bin/sh\ncat\n");
    chmodSync(join(dir, "script.sh"), 0o755);
    writeFileSync(
      join(dir, "c.toml"),
      `[profiles.cmd]\nbackend = "command"\ncommand = ["${dir}/script.sh"]\n[profiles.ai]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\napi_key_env = "KEY"\n`,
    );
    const options = { cwd: dir, env: { KEY: "k-123" } };
    const config = await runCli(["config", "--config", "c.toml", "--data-dir", "data"], options);
    expect(config.code).toBe(0);
    expect(config.stdout).toContain("[profiles.cmd]");
    expect(await runCli(["config", "--check", "--config", "c.toml", "--data-dir", "data"], options)).toEqual({ code: 0, stdout: "", stderr: "" });
  });
});
