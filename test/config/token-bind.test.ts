import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { checkBindPolicy, isLoopback, parseBind, resolveToken } from "../../src/config/index.ts";
import { configError, load, scratch, type Scratch } from "./helpers.ts";

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.remove());

describe("token resolution", () => {
  test("no token source configured: no token", () => {
    expect(resolveToken({ token_env: null, token_file: null }, { YOI_RUNTIME_TOKEN: "ignored" })).toBeNull();
  });

  test("from the named environment variable, trimmed", () => {
    expect(resolveToken({ token_env: "T", token_file: null }, { T: "  s3cret-value\n" })).toBe("s3cret-value");
  });

  test("from the file, trimmed (a trailing newline does not count)", () => {
    const file = s.write("token", "file-token-1234\n");
    expect(resolveToken({ token_env: null, token_file: file }, {})).toBe("file-token-1234");
  });

  test("an unset or empty variable is an error naming the variable, not the value", () => {
    expect(configError(() => resolveToken({ token_env: "T", token_file: null }, {}))).toBe(
      "--token-env / auth.token_env: environment variable T is not set",
    );
    expect(configError(() => resolveToken({ token_env: "T", token_file: null }, { T: "" }))).toBe(
      "--token-env / auth.token_env: environment variable T is empty",
    );
    expect(configError(() => resolveToken({ token_env: "T", token_file: null }, { T: " \n\t" }))).toBe(
      "--token-env / auth.token_env: environment variable T is empty",
    );
  });

  test("a missing, unreadable or empty file is an error", () => {
    const missing = `${s.dir}/none`;
    expect(configError(() => resolveToken({ token_env: null, token_file: missing }, {}))).toBe(
      `--token-file / auth.token_file: token file ${missing} does not exist`,
    );
    const empty = s.write("empty", "\n");
    expect(configError(() => resolveToken({ token_env: null, token_file: empty }, {}))).toBe(
      `--token-file / auth.token_file: token file ${empty} is empty`,
    );
    expect(configError(() => resolveToken({ token_env: null, token_file: s.dir }, {}))).toStartWith(
      `--token-file / auth.token_file: token file ${s.dir} cannot be read`,
    );
    if (process.getuid?.() !== 0) {
      // root reads any file, so unreadability can only be shown as another user.
      const locked = s.write("locked", "x");
      chmodSync(locked, 0o000);
      expect(configError(() => resolveToken({ token_env: null, token_file: locked }, {}))).toContain("cannot be read");
    }
  });

  test("a token with inner whitespace or control characters is refused, without echoing it", () => {
    const message = configError(() => resolveToken({ token_env: "T", token_file: null }, { T: "two words" }));
    expect(message).toBe("--token-env / auth.token_env: T: the token contains whitespace or control characters");
    expect(message).not.toContain("two words");
  });
});

describe("bind addresses", () => {
  test("HOST:PORT, [IPv6]:PORT, port 0", () => {
    expect(parseBind("127.0.0.1:0")).toEqual({ hostname: "127.0.0.1", port: 0 });
    expect(parseBind("[::1]:8080")).toEqual({ hostname: "::1", port: 8080 });
    expect(parseBind("localhost:65535")).toEqual({ hostname: "localhost", port: 65535 });
    expect(parseBind("0.0.0.0:80")).toEqual({ hostname: "0.0.0.0", port: 80 });
    expect(parseBind("[::]:80")).toEqual({ hostname: "::", port: 80 });
    expect(parseBind("runtime.internal:1")).toEqual({ hostname: "runtime.internal", port: 1 });
  });

  test("malformed addresses are described, not thrown", () => {
    for (const bad of [":80", "host:", "host:-1", "host:1.5", "host:99999", "[::1", "[::1]", "[zz]:1", "::1:80", "a_b:1", "127.0.0.1"]) {
      expect(typeof parseBind(bad)).toBe("string");
    }
  });

  test("loopback is 127.0.0.0/8, ::1 and localhost", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST"]) {
      expect(isLoopback(host)).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "example.com", "localhost.example.com", "192.168.1.1"]) {
      expect(isLoopback(host)).toBe(false);
    }
  });
});

describe("the bind rule (SPEC §10)", () => {
  test("a non-loopback bind without a token is refused, naming the way out", () => {
    const config = load({ cwd: s.dir, flags: { bind: "0.0.0.0:38800" } });
    const message = configError(() => checkBindPolicy(config, null, false));
    expect(message).toStartWith("--bind / server.bind: refusing to listen on 0.0.0.0:38800 without a token");
    expect(message).toContain("--allow-insecure-remote");
    expect(message).toContain("--token-env");
  });

  test("allowed with a token, with --allow-insecure-remote, or on loopback", () => {
    const remote = load({ cwd: s.dir, flags: { bind: "[::]:1" } });
    expect(() => checkBindPolicy(remote, "t", false)).not.toThrow();
    expect(() => checkBindPolicy(remote, null, true)).not.toThrow();
    for (const bind of ["127.0.0.1:1", "[::1]:1", "localhost:1"]) {
      expect(() => checkBindPolicy(load({ cwd: s.dir, flags: { bind } }), null, false)).not.toThrow();
    }
  });
});
