# bash completion for velerofs(1): commands, their options, -o values,
# directories for mount points. Installed by `meson install`.
_velerofs()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local commands="mount umount backups ls cat find diff restore cache status url help version"
	if [ "$cword" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
		return
	fi
	local cmd=${words[1]} opts=""
	case $prev in
	--cache | --restore-state)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--credentials | --kubeconfig | --log-file | --ca-file | --repo-password-file)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--log-level)
		COMPREPLY=($(compgen -W "error warning notice info debug" -- "$cur")); return ;;
	--view)
		COMPREPLY=($(compgen -W "yaml json" -- "$cur")); return ;;
	-o | --output)
		if [ "$cmd" = mount ]; then
			COMPREPLY=($(compgen -W "view=json clean keep_status redact cache_size= timeout= refresh= max_threads= existing=skip existing=update dry_run image_map= storageclass_map= modifiers= restore_hooks= encryption-config= repo_password_file= type_wait= outage_wait= include_nonrestorable no_restore allow_other" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "wide json yaml" -- "$cur"))
		fi
		return ;;
	esac
	case $cmd in
	mount) opts="-f --foreground -d --debug -o --cache --credentials --repo-password-file --kubeconfig --context --restore-state --log-file --log-level --bsl -n --namespace --help" ;;
	url) opts="--ca-file --bsl -n --namespace --kubeconfig --context --help" ;;
	umount) opts="--help" ;;
	status) opts="--cache --help" ;;
	backups) opts="-o --output --cache --credentials --help" ;;
	ls) opts="-l --long --view --clean --keep-status --redact --cache --credentials --help" ;;
	cat) opts="--view --clean --keep-status --redact --cache --credentials --help" ;;
	find) opts="-o --output --view --kind --namespace --name --label --image --backup --cache --credentials --help" ;;
	diff) opts="-p --patch --raw --cache --credentials --help" ;;
	restore)
		if [ "$cword" -eq 2 ]; then
			COMPREPLY=($(compgen -W "status wait create" -- "$cur")); return
		fi
		opts="--json --timeout --wait --from-backup --include-namespaces --exclude-namespaces --include-resources --exclude-resources --namespace-mappings --selector --help" ;;
	cache)
		if [ "$cword" -eq 2 ] && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W "ls du prune" -- "$cur")); return
		fi
		opts="-o --output --cache --max --all --help" ;;
	help)
		COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -d -- "$cur"))
	fi
}
complete -F _velerofs velerofs
