
#compdef agentctx

_agentctx_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _AGENTCTX_COMPLETE=complete_zsh agentctx)
}

compdef _agentctx_completion agentctx

