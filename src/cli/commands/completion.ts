import { defineCommand } from "citty";
import { write } from "../../platform/index.ts";
import { completions } from "../complete.ts";
import { PROGRAM } from "../report.ts";
import { choiceArg } from "./connect.ts";

const SHELLS = ["bash", "zsh", "fish"] as const;

/** Each script asks `yoi-runtime __complete -- <words>` for the candidates (one per line). */
const SCRIPTS: Record<(typeof SHELLS)[number], string> = {
  bash: `# bash completion for ${PROGRAM}: eval "$(${PROGRAM} completion bash)"
_yoi_runtime() {
  local IFS=$'\\n'
  COMPREPLY=($(${PROGRAM} __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _yoi_runtime ${PROGRAM}
`,
  zsh: `#compdef ${PROGRAM}
# zsh completion for ${PROGRAM}: eval "$(${PROGRAM} completion zsh)"
_yoi_runtime() {
  local -a candidates
  candidates=("\${(@f)$(${PROGRAM} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n "\${candidates[1]}" ]]; then
    compadd -a candidates
  else
    _files
  fi
}
compdef _yoi_runtime ${PROGRAM}
`,
  fish: `# fish completion for ${PROGRAM}: ${PROGRAM} completion fish | source
function __yoi_runtime_complete
    set -l words (commandline -opc)
    ${PROGRAM} __complete -- $words[2..-1] (commandline -ct) 2>/dev/null
end
complete -c ${PROGRAM} -f -a '(__yoi_runtime_complete)'
`,
};

export const completionCommand = defineCommand({
  meta: {
    name: "completion",
    description: "Print the shell completion script (commands, flags, worker ids of the running runtime): eval \"$(yoi-runtime completion bash)\"",
  },
  args: {
    shell: { type: "positional", required: true, valueHint: SHELLS.join("|"), description: "The shell" },
  },
  run: async ({ args }) => {
    const shell = choiceArg(args.shell, "SHELL", SHELLS)!;
    await write("stdout", SCRIPTS[shell]);
  },
});

export const completeCommand = defineCommand({
  meta: { name: "__complete", description: "Candidates for the completion scripts", hidden: true },
  args: {
    words: { type: "positional", required: false, description: "The command line after the program name, the word being completed last" },
  },
  run: async ({ args }) => {
    const { root } = await import("../root.ts");
    const candidates = await completions(root, args._);
    await write("stdout", candidates.map((candidate) => `${candidate}\n`).join(""));
  },
});
