export const HELP = `llamawrapper: an OpenAI-compatible gateway for llama.cpp

Usage:
  llamawrapper --models-dir ./models         serve every .gguf in a folder, no config needed
  llamawrapper --config config.yaml          start the gateway (also: -config config.yaml)
  llamawrapper serve --config FILE [--port N] [--watch]
                                              the same, explicitly; --watch reloads the config
                                              when the file changes (also: SIGHUP, POST /admin/reload)
  llamawrapper check --config FILE            validate a config, print every problem with its path
                                              (--models-dir DIR also lists files it skips)
  llamawrapper init --models-dir DIR [--out config.yaml] [--force]
                                              write a commented config for the models found
  llamawrapper setup [--cuda] [--force]       build llama-server from the pinned llama.cpp source
  llamawrapper make-tiny-model OUT.gguf [--vocab FILE] [--seed N]
                                              write a tiny random llama model for tests and demos
Options:
  -c, --config FILE   the YAML config
  --models-dir DIR    serve every .gguf under DIR (ids from file names, settings from the files)
  --watch             reload when the config file or the models folder changes
  -h, --help          this text
  -v, --version       print the version

Exit codes:
  0 ok   1 runtime failure   2 usage error   3 invalid config   4 llama-server missing or build failed
`;
