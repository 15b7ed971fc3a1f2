# bash completion for adamix-run: subcommands, options (the long ones of
# `adamix-run --help`), experiment files (*.yaml) and results folders.
# Installed as share/bash-completion/completions/adamix-run.
_adamix_run() {
    local cur prev words cword
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local opts="--out --jobs --cache --set --shard --dry-run --print-config --force
        --rerun-failed --fail-fast --save-weights --backend --quiet --help --version --rtol --json"
    local cmds="validate report merge compare"
    case "$prev" in
    -o | --out | --cache)
        COMPREPLY=($(compgen -d -- "$cur"))
        return
        ;;
    --backend)
        # the backends of `adamix-run --version` (those built in), else the table's names
        local names
        names=$("${COMP_WORDS[0]}" --version 2>/dev/null | awk '/^  [a-z]+ +available$/ {print $1}')
        COMPREPLY=($(compgen -W "${names:-openblas onednn}" -- "$cur"))
        return
        ;;
    -j | --jobs | --shard | --rtol | -s | --set)
        COMPREPLY=()
        return
        ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    # the subcommand, if one was given already
    local i sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        validate | report | merge | compare)
            sub=${COMP_WORDS[i]}
            break
            ;;
        esac
    done
    case "$sub" in
    report | merge | compare)
        COMPREPLY=($(compgen -d -- "$cur"))
        ;;
    validate)
        COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
        ;;
    *)
        COMPREPLY=($(compgen -W "$cmds" -- "$cur") $(compgen -f -X '!*.y*ml' -- "$cur")
            $(compgen -d -- "$cur"))
        ;;
    esac
}
complete -o filenames -F _adamix_run adamix-run
