// Checks a `bun run release` output from outside (plain Node, no dependencies):
//   node .ci/check-binaries.mjs dist/release
// For each platform package in npm/: its binary is an executable of the format its `os`/`cpu`
// fields promise (ELF with the right e_machine, Mach-O with the right cputype, PE with the right
// Machine: what `file` would say), and it is the same file as the downloadable binary beside
// SHA256SUMS, whose every line matches. Prints `ok - ...`/`not ok - ...` lines, then
// `SMOKE <passed> <failed>`.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const releaseDir = process.argv[2];
if (!releaseDir) {
  console.error("usage: node .ci/check-binaries.mjs RELEASE_DIR");
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok" : "not ok"} - ${name}${ok || !detail ? "" : ` (${detail})`}`);
}

const ELF_MACHINE = { x64: 0x3e, arm64: 0xb7 };
const MACHO_CPU_TYPE = { x64: 0x01000007, arm64: 0x0100000c };
const PE_MACHINE = { x64: 0x8664, arm64: 0xaa64 };

/** What the header says: `{ format, cpu, executable }`, or a string saying why it is none of them. */
function describe(bytes) {
  if (bytes.readUInt32BE(0) === 0x7f454c46) {
    // 64-bit little-endian; e_type 2 (EXEC) or 3 (DYN, position-independent executables).
    const type = bytes.readUInt16LE(16);
    const cpu = Object.keys(ELF_MACHINE).find((key) => ELF_MACHINE[key] === bytes.readUInt16LE(18));
    return { format: "linux", cpu, executable: bytes[4] === 2 && bytes[5] === 1 && (type === 2 || type === 3) };
  }
  if (bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = Object.keys(MACHO_CPU_TYPE).find((key) => MACHO_CPU_TYPE[key] === bytes.readUInt32LE(4));
    return { format: "darwin", cpu, executable: bytes.readUInt32LE(12) === 2 /* MH_EXECUTE */ };
  }
  if (bytes.readUInt16BE(0) === 0x4d5a /* MZ */) {
    const pe = bytes.readUInt32LE(0x3c);
    if (bytes.readUInt32BE(pe) !== 0x50450000) return "MZ header without a PE signature";
    const cpu = Object.keys(PE_MACHINE).find((key) => PE_MACHINE[key] === bytes.readUInt16LE(pe + 4));
    const characteristics = bytes.readUInt16LE(pe + 22);
    // IMAGE_FILE_EXECUTABLE_IMAGE set, IMAGE_FILE_DLL not.
    return { format: "win32", cpu, executable: (characteristics & 0x0002) !== 0 && (characteristics & 0x2000) === 0 };
  }
  return `unknown magic ${bytes.subarray(0, 4).toString("hex")}`;
}

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

const npmDir = join(releaseDir, "npm");
const platformPackages = readdirSync(npmDir).filter((name) => /^yoi-runtime-[a-z]+-[a-z0-9]+$/.test(name));
check("five platform packages", platformPackages.length === 5, platformPackages.join(", "));

const sums = new Map(
  readFileSync(join(releaseDir, "SHA256SUMS"), "utf8")
    .trim()
    .split("\n")
    .map((line) => line.split(/\s+\*?/))
    .map(([hash, file]) => [file, hash]),
);
for (const [file, hash] of sums) check(`SHA256SUMS: ${file}`, existsSync(join(releaseDir, file)) && sha256(join(releaseDir, file)) === hash);

const mainManifest = JSON.parse(readFileSync(join(npmDir, "yoi-runtime", "package.json"), "utf8"));
for (const name of platformPackages) {
  const manifest = JSON.parse(readFileSync(join(npmDir, name, "package.json"), "utf8"));
  const [os] = manifest.os;
  const [cpu] = manifest.cpu;
  const exe = os === "win32" ? ".exe" : "";
  const binary = join(npmDir, name, "bin", `yoi-runtime${exe}`);
  const header = readFileSync(binary).subarray(0, 4096);
  const found = describe(header);
  const detail = typeof found === "string" ? found : `${found.format} ${found.cpu ?? "unknown cpu"}${found.executable ? "" : ", not an executable"}`;
  check(`${name}: ${os}/${cpu} executable`, typeof found === "object" && found.format === os && found.cpu === cpu && found.executable, detail);
  check(`${name}: same file as the downloadable binary`, sums.get(`${name}${exe}`) === sha256(binary));
  check(`${name}: version and optional dependency of the main package`, manifest.version === mainManifest.version && mainManifest.optionalDependencies?.[name] === manifest.version);
  if (os !== "win32") check(`${name}: binary is executable (mode)`, (statSync(binary).mode & 0o111) !== 0);
}

console.log(`SMOKE ${passed} ${failed}`);
process.exit(failed === 0 ? 0 : 1);
