/**
 * The layer rules of docs/architecture.md, checked over a source tree: reads every `src/**\/*.ts`
 * file with the TypeScript parser (so comments and strings never count), collects its module
 * specifiers (static `import`, `export … from`, `import()`, `import("…")` types, `require()`) and
 * its uses of the runtime globals, and reports each rule it breaks.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

export type RuleName =
  | "core-imports" // src/core depends on nothing but itself, src/shared and TypeBox
  | "server-imports-store" // src/server reaches stores only through the core's ports
  | "client-imports" // src/client (shipped to Node/Deno backends) loads no runtime implementation
  | "shared-imports" // src/shared is the bottom layer: it imports no other part of src
  | "runtime-global" // Bun.* / Deno.* (and the bun modules) only in src/platform
  | "process-env"; // the environment is read by config and platform only, and handed down

export interface Violation {
  /** Path of the offending file, relative to the checked root, with `/` separators. */
  file: string;
  line: number;
  rule: RuleName;
  /** The specifier or expression that broke the rule. */
  detail: string;
}

/** Packages the core may load: the schema library, nothing that does I/O or HTTP. */
const CORE_PACKAGES = ["@sinclair/typebox"];
/** Parts of src that the client must not load (they pull in processes, files or the server's runtime code). */
const CLIENT_FORBIDDEN = ["store", "execution", "platform", "cli", "config"];
const RUNTIME_GLOBALS = new Set(["Bun", "Deno"]);
const GLOBAL_OBJECTS = new Set(["globalThis", "window", "self", "global"]);
const ENV_READERS = ["config", "platform"];

interface ModuleReference {
  specifier: string;
  line: number;
}

interface ParsedFile {
  imports: ModuleReference[];
  /** Uses of Bun/Deno and of process.env, as `{name, line}`. */
  globals: Array<{ name: "Bun" | "Deno" | "process.env"; line: number }>;
}

/** Checks the tree under `root` (a directory holding `src/`); returns every violation, sorted. */
export function checkLayers(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const absolute of sourceFiles(join(root, "src"))) {
    const file = toPosix(relative(root, absolute));
    const layer = layerOf(file);
    const parsed = parse(absolute);
    for (const { specifier, line } of parsed.imports) {
      const target = specifier.startsWith(".") ? toPosix(relative(root, resolveRelative(absolute, specifier))) : null;
      const rule = importRule(layer, specifier, target);
      if (rule) violations.push({ file, line, rule, detail: specifier });
    }
    for (const { name, line } of parsed.globals) {
      if (name === "process.env") {
        if (!ENV_READERS.includes(layer)) violations.push({ file, line, rule: "process-env", detail: name });
      } else if (layer !== "platform") {
        violations.push({ file, line, rule: "runtime-global", detail: name });
      }
    }
  }
  return violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
}

/** The rule an import from `layer` breaks, if any; `target` is the resolved path of a relative import. */
function importRule(layer: string, specifier: string, target: string | null): RuleName | null {
  if (layer !== "platform" && (specifier === "bun" || specifier.startsWith("bun:"))) return "runtime-global";
  const targetLayer = target === null ? null : layerOf(target);
  switch (layer) {
    case "core":
      if (targetLayer !== null) return targetLayer === "core" || targetLayer === "shared" ? null : "core-imports";
      return CORE_PACKAGES.some((name) => specifier === name || specifier.startsWith(`${name}/`)) ? null : "core-imports";
    case "server":
      return targetLayer === "store" ? "server-imports-store" : null;
    case "client":
      return targetLayer !== null && CLIENT_FORBIDDEN.includes(targetLayer) ? "client-imports" : null;
    case "shared":
      return targetLayer !== null && targetLayer !== "shared" ? "shared-imports" : null;
    default:
      return null;
  }
}

/** `src/<layer>/…` → `<layer>`; files directly in src (the package entry) and outside it → "". */
function layerOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length > 2 ? parts[1]! : "";
}

function resolveRelative(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return base;
}

function parse(path: string): ParsedFile {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const result: ParsedFile = { imports: [], globals: [] };
  const addImport = (literal: ts.Node | undefined) => {
    if (literal && ts.isStringLiteralLike(literal)) result.imports.push({ specifier: literal.text, line: lineOf(literal) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      addImport(node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      addImport(node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      addImport(node.argument.literal);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) {
        addImport(node.arguments[0]);
      }
    } else if (ts.isIdentifier(node) && RUNTIME_GLOBALS.has(node.text) && isGlobalReference(node)) {
      result.globals.push({ name: node.text as "Bun" | "Deno", line: lineOf(node) });
    } else if (ts.isElementAccessExpression(node) && isGlobalObject(node.expression)) {
      const key = node.argumentExpression;
      if (ts.isStringLiteralLike(key) && RUNTIME_GLOBALS.has(key.text)) {
        result.globals.push({ name: key.text as "Bun" | "Deno", line: lineOf(node) });
      }
    } else if (ts.isPropertyAccessExpression(node) && node.name.text === "env" && isProcess(node.expression)) {
      result.globals.push({ name: "process.env", line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return result;
}

/**
 * Whether an identifier named Bun/Deno refers to the global: a bare reference (`Bun.spawn`, a
 * type `Bun.Subprocess`) or a property of a global object (`globalThis.Bun`), but not a property
 * of something else (`options.Bun`), an object key or a declaration's own name.
 */
function isGlobalReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return isGlobalObject(parent.expression);
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertySignature(parent)) && parent.name === node) return false;
  if (ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent)) return parent.name !== node;
  return true;
}

function isGlobalObject(node: ts.Expression): boolean {
  const inner = withoutWrappers(node);
  return ts.isIdentifier(inner) && GLOBAL_OBJECTS.has(inner.text);
}

/** `(globalThis as any)`, `globalThis!` … → `globalThis`. */
function withoutWrappers(node: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node) || ts.isSatisfiesExpression(node) || ts.isTypeAssertionExpression(node)) {
    node = node.expression;
  }
  return node;
}

function isProcess(expression: ts.Expression): boolean {
  const node = withoutWrappers(expression);
  if (ts.isIdentifier(node)) return node.text === "process";
  return ts.isPropertyAccessExpression(node) && node.name.text === "process" && isGlobalObject(node.expression);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return entry.isFile() && entry.name.endsWith(".ts") ? [path] : [];
    })
    .sort();
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}
