# bash completion for hearsay, the hearsay agent's command line tool.
# Installed as /usr/share/bash-completion/completions/hearsay.
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)) is the completion idiom

# The member names the agent (the --socket on the line, if any) knows, as COMPREPLY.
_hearsay_members()
{
    local sock_args=() i
    for ((i = 1; i < cword; i++)); do
        [[ ${words[i]} == --socket ]] && sock_args=(--socket "${words[i + 1]}")
    done
    COMPREPLY=($(compgen -W "$(hearsay "${sock_args[@]}" --timeout 1 members 2>/dev/null |
        awk 'NR > 1 { print $1 }')" -- "$cur"))
}

_hearsay()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        COMPREPLY=()
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="members join leave tags check keygen keys raft config watch self health metrics force-leave readmit explain monitor reachability help"
    local global_opts="--socket --timeout --help --version"

    # find the subcommand, skipping global options and their values
    local i cmd="" cmd_index=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        --socket | --timeout) ((i++)) ;;
        -*) ;;
        *)
            cmd=${words[i]}
            cmd_index=$i
            break
            ;;
        esac
    done

    case $prev in
    --socket)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --timeout | --since | --min-alive | -w | --warning | -c | --critical | --wait)
        return
        ;;
    -o | --output | -f | --file)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    -s | --status)
        COMPREPLY=($(compgen -W "alive suspect failed left" -- "$cur"))
        return
        ;;
    -m | --member)
        _hearsay_members
        return
        ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local opts="--help --socket"
    case $cmd in
    members) opts+=" --status --tag --json" ;;
    check) opts+=" --min-alive --member --quorum --warning --critical" ;;
    keygen) opts="--help --output --force" ;;
    raft | self | health) opts+=" --json" ;;
    watch) opts+=" --json --since" ;;
    config) opts+=" --consistent --reset --json" ;;
    force-leave) opts+=" --prune --json" ;;
    readmit | explain | reachability) opts+=" --json" ;;
    monitor) opts+=" --log-level" ;;
    keys) opts+=" --file --wait --local --json" ;;
    help)
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return
        ;;
    esac

    local nargs=$((cword - cmd_index))
    if [[ $cur != -* ]]; then
        case $cmd in
        tags)
            ((nargs == 1)) && COMPREPLY=($(compgen -W "set delete" -- "$cur"))
            return
            ;;
        config)
            ((nargs == 1)) && COMPREPLY=($(compgen -W "get set fd" -- "$cur"))
            return
            ;;
        force-leave | readmit | explain)
            ((nargs == 1)) && _hearsay_members
            return
            ;;
        raft)
            ((nargs == 1)) && COMPREPLY=($(compgen -W "status" -- "$cur"))
            return
            ;;
        keys)
            ((nargs == 1)) && COMPREPLY=($(compgen -W "list install use remove" -- "$cur"))
            return
            ;;
        esac
    fi
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _hearsay hearsay
