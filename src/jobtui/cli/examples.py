"""The examples at the end of each command's `--help`: one place, command path → (what it does, the command line).

A new subcommand adds its entry here (two or three examples; `schedule add` for a nested one). The test
tests/cli/test_help.py walks the parser: a command without examples fails it, and so does an example
that its parser no longer accepts.
"""

from __future__ import annotations

Example = tuple[str, str]
"""(what it does, the command line as typed)."""

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "": (
        ("open the TUI on the default database, with a runner inside", "jobtui"),
        ("queue a command and watch it", "jobtui add -- make -j8 test && jobtui"),
        ("the same jobs, another database", "jobtui --db ~/work/jobs.db ls"),
    ),
    "tui": (
        ("open the TUI with a runner inside (4 jobs at once)", "jobtui tui --concurrency 4"),
        ("watch and steer the jobs a `jobtui run` runs (e.g. over SSH)", "jobtui tui --attach"),
        ("look without touching", "jobtui tui --readonly --theme light"),
    ),
    "demo": (
        ("a fresh demo database and the TUI on it", "jobtui demo --fresh"),
        ("the demo without a terminal UI (a runner that exits when done)", "jobtui demo --headless"),
    ),
    "run": (
        ("run jobs until Ctrl-C or SIGTERM, 8 at once", "jobtui run --concurrency 8"),
        ("run what is queued now, then exit", "jobtui run --exit-when-idle --quiet"),
        ("a named runner for jobs that need a GPU; keep finished jobs a week", "jobtui run --name gpu-1 --tag gpu --keep 7d"),
    ),
    "serve": (
        ("the HTTP API on 127.0.0.1:8765, with a runner in this process", "jobtui serve"),
        ("only the API: `jobtui run` processes run the jobs", "jobtui serve --attach --port 9000"),
    ),
    "web": (
        ("the TUI in a browser on this machine, read-only (it prints the URL with its token)", "jobtui web"),
        ("one that may also pause, resume and cancel", "jobtui web --allow-steer --port 9001"),
        ("reachable from other machines, over HTTPS", "jobtui web --host 0.0.0.0 --allow-remote --certfile c.pem --keyfile k.pem"),
    ),
    "token": (
        ("make a token that may pause, resume and cancel", "jobtui token add ops --scope steer"),
        ("list the tokens (never the secrets)", "jobtui token ls"),
    ),
    "token add": (
        ("a read-only token for a dashboard", "jobtui token add grafana"),
        ("a token that may also submit jobs", "jobtui token add ci --scope submit"),
    ),
    "token ls": (
        ("the tokens, their scopes and when each was last used", "jobtui token ls"),
        ("the same as JSON", "jobtui token ls --json"),
    ),
    "token rm": (
        ("revoke a token: every server refuses it within seconds", "jobtui token rm grafana"),
        ("revoke it on another database", "jobtui token rm ci --db /srv/jobs.db"),
    ),
    "submit": (
        ("queue a job of a type (see `jobtui types`) with params", "jobtui submit demo -p items=50 -p delay=0.5"),
        ("queue one job per line of a JSONL file", "jobtui submit demo --from params.jsonl"),
        ("run at 09:00, at most once per key, retried twice", "jobtui submit demo --at 09:00 --unique-key nightly --max-retries 2"),
    ),
    "add": (
        ("queue a command (everything after -- is its argv)", "jobtui add -- rsync -a src/ backup/"),
        ("a shell line, ended after 2h, retried 3 times", "jobtui add --timeout 2h --retries 3 --shell 'make -j8 && make test'"),
        ("the [[stage]] commands of a TOML file, in order", "jobtui add --pipeline build.toml"),
    ),
    "ls": (
        ("every job, newest last", "jobtui ls"),
        ("the failed and paused jobs: id, status and the command they run", "jobtui ls --status failed,paused --columns id,status,command"),
        ("the 20 newest, as JSON", "jobtui ls --limit 20 --json"),
    ),
    "foreach": (
        ("one item per file, 4 at once; {} is the item", "jobtui foreach --glob 'photos/**/*.jpg' --workers 4 -- convert {} {}.png"),
        ("one item per line of a file, up to 5% may fail", "jobtui foreach --lines urls.txt --allow-failures 5% -- curl -fsSO {}"),
        ("one item per argument", "jobtui foreach --args eu us asia -- ./deploy.sh {}"),
    ),
    "show": (
        ("a job, its stages and why it waits or failed", "jobtui show 12"),
        ("the job detail object, for scripts", "jobtui show 12 --json"),
        ("a command job with its whole environment (secrets redacted)", "jobtui show 12 --env"),
    ),
    "logs": (
        ("the last 200 lines of job 12's log", "jobtui logs 12"),
        ("follow it until the job ends", "jobtui logs -f 12"),
        ("every job's last 50 lines, each prefixed with [id]", "jobtui logs --all -n 50"),
    ),
    "depend": (
        ("job 14 starts only once 12 and 13 completed", "jobtui depend 14 --after 12 13"),
        ("or say it when queueing", "jobtui add --after 12 -- ./publish.sh"),
    ),
    "template": (
        ("save a job type with params and options under a name", "jobtui template save ocr demo -p items=100 --priority 5"),
        ("queue a job of it, one param changed", "jobtui submit --template ocr -p items=20"),
        ("the saved templates", "jobtui template ls"),
    ),
    "template save": (
        ("a type with params, labels and a time limit", "jobtui template save nightly demo -p items=500 --label team=ml --timeout 2h"),
        ("a copy of job 12 (its type, params and options), one param changed", "jobtui template save again --from-job 12 -p seed=7"),
    ),
    "template ls": (
        ("the templates: name, type, params (secrets hidden)", "jobtui template ls"),
        ("as JSON", "jobtui template ls --json"),
    ),
    "template show": (
        ("one template with its options", "jobtui template show ocr"),
        ("as JSON", "jobtui template show ocr --json"),
    ),
    "template rm": (
        ("delete a template (the jobs made of it stay)", "jobtui template rm ocr"),
        ("and check", "jobtui template ls"),
    ),
    "edit": (
        ("change a param of a job that has not run yet, and its priority", "jobtui edit 12 -p items=100 --priority 5"),
        ("start it later, on a GPU runner", "jobtui edit 12 --at +2h --needs gpu"),
        ("relabel it", "jobtui edit 12 --label team=ml --unlabel draft"),
    ),
    "schedule": (
        ("a command every night at 03:00 Berlin time", "jobtui schedule add nightly --cron '0 3 * * *' --timezone Europe/Berlin -- ./backup.sh"),
        ("the schedules and their next runs", "jobtui schedule ls"),
        ("stop one from firing", "jobtui schedule pause nightly"),
    ),
    "schedule add": (
        ("a job type every 15 minutes, with params", "jobtui schedule add sync --every 15m demo -p items=5"),
        ("a shell line at 03:00 UTC every day", "jobtui schedule add nightly --cron '0 3 * * *' --shell -- 'make backup'"),
    ),
    "schedule ls": (
        ("the schedules and their next runs", "jobtui schedule ls"),
        ("the same as JSON", "jobtui schedule ls --json"),
    ),
    "schedule show": (
        ("a schedule and its latest occurrences", "jobtui schedule show nightly"),
        ("the same as JSON", "jobtui schedule show nightly --json"),
    ),
    "schedule pause": (
        ("stop a schedule from firing (its jobs stay)", "jobtui schedule pause nightly"),
        ("on another database", "jobtui schedule pause sync --db /srv/jobs.db"),
    ),
    "schedule resume": (
        ("fire a paused schedule again", "jobtui schedule resume nightly"),
        ("on another database", "jobtui schedule resume sync --db /srv/jobs.db"),
    ),
    "schedule rm": (
        ("delete a schedule and its history (its jobs stay)", "jobtui schedule rm nightly"),
        ("on another database", "jobtui schedule rm sync --db /srv/jobs.db"),
    ),
    "queue": (
        ("at most 2 GPU jobs at once across every runner, one per runner", "jobtui queue add gpu --concurrency 2 --per-runner 1 --slots"),
        ("queue a command under it", "jobtui add --queue gpu -- python train.py"),
        ("the queues, their limits and jobs", "jobtui queue ls"),
    ),
    "queue add": (
        ("at most 4 of its jobs running, across every runner", "jobtui queue add render --concurrency 4"),
        ("at most 5 starts in any 10 seconds (an API's rate limit)", "jobtui queue add api --rate 5/10s"),
        ("one per runner, each with a slot number ($JOBTUI_SLOT)", "jobtui queue add gpu --per-runner 1 --slots"),
    ),
    "queue edit": (
        ("raise a limit (running jobs above a lowered one finish)", "jobtui queue edit render --concurrency 8"),
        ("remove the rate limit", "jobtui queue edit api --rate none"),
    ),
    "queue ls": (
        ("the queues with their limits, running and waiting jobs", "jobtui queue ls"),
        ("the same as JSON", "jobtui queue ls --json"),
    ),
    "queue show": (
        ("one queue: its limits and counts by status", "jobtui queue show gpu"),
        ("the same as JSON", "jobtui queue show gpu --json"),
    ),
    "queue pause": (
        ("no runner starts the queue's jobs (running ones go on)", "jobtui queue pause render"),
        ("also pause its running jobs", "jobtui queue pause render --now"),
    ),
    "queue resume": (
        ("let runners start its jobs again (and resume those `pause --now` paused)", "jobtui queue resume render"),
        ("on another database", "jobtui queue resume api --db /srv/jobs.db"),
    ),
    "queue rm": (
        ("delete a queue no job names any more", "jobtui queue rm render"),
        ("on another database", "jobtui queue rm api --db /srv/jobs.db"),
    ),
    "pause": (
        ("pause a job at its next safe point", "jobtui pause 12"),
        ("pause several", "jobtui pause 12 13 14"),
    ),
    "resume": (
        ("continue a paused, failed or cancelled job from its last checkpoint", "jobtui resume 12"),
        ("resume several", "jobtui resume 12 13"),
    ),
    "cancel": (
        ("cancel a job (its finished stages stay)", "jobtui cancel 12"),
        ("cancel several", "jobtui cancel 12 13"),
    ),
    "retry": (
        ("run a failed job again now", "jobtui retry 12"),
        ("retry several", "jobtui retry 12 13"),
    ),
    "delete": (
        ("delete a job with its items, logs and workspace", "jobtui delete 12"),
        ("delete several", "jobtui delete 12 13"),
    ),
    "fail": (
        ("stop a job for good, saying why", "jobtui fail 12 --reason 'wrong input file'"),
        ("several at once", "jobtui fail 12 13 --reason 'superseded by 14'"),
    ),
    "wait": (
        ("wait for a job; exit 0 only if it completed", "jobtui wait 12"),
        ("wait for two, ten minutes at most (then exit 3)", "jobtui wait 12 13 --timeout 10m"),
        ("queue, wait, then act on the outcome", "jobtui wait $(jobtui add -- make) && echo built"),
    ),
    "rewind": (
        ("run job 12 again from its third stage", "jobtui rewind 12 --to 3"),
        ("or by the stage's name", "jobtui rewind 12 --to extracting"),
    ),
    "clean": (
        ("delete finished jobs that ended over a week ago", "jobtui clean --older-than 7d"),
        ("delete every cancelled job now", "jobtui clean --older-than 0 --status cancelled"),
    ),
    "export": (
        ("a job's item results as JSON lines", "jobtui export 12"),
        ("as CSV, into a file", "jobtui export 12 --format csv -o results.csv"),
        ("its stage outputs instead", "jobtui export 12 --stages"),
    ),
    "stats": (
        ("counts by status, items and runners", "jobtui stats"),
        ("the same as JSON", "jobtui stats --json"),
    ),
    "types": (
        ("the job types and their params", "jobtui types"),
        ("with the types of your own module", "jobtui types --app myjobs"),
    ),
    "vacuum": (
        ("shrink the database file after deleting many jobs", "jobtui vacuum"),
        ("another database", "jobtui vacuum --db ~/work/jobs.db"),
    ),
    "config": (
        ("each setting, its value and where it came from (flag, env, file, default)", "jobtui config show"),
        ("the file jobtui reads", "jobtui config path"),
        ("the TUI actions [keys] can rebind", "jobtui config keys"),
    ),
    "config show": (
        ("the effective settings and their sources", "jobtui config show"),
        ("with another config file, as JSON", "jobtui config show --config ./jobtui.toml --json"),
    ),
    "config path": (
        ("where the config file is (it need not exist)", "jobtui config path"),
        ("the one $JOBTUI_CONFIG names", "JOBTUI_CONFIG=~/ci.toml jobtui config path"),
    ),
    "config keys": (
        ("every TUI action, its keys and what it does", "jobtui config keys"),
        ("after rebinding, e.g. cancel = \"x\" under [keys]", "jobtui config keys --config ./jobtui.toml"),
    ),
    "completion": (
        ("install completions for your shell ($SHELL): commands, options, job ids", "jobtui completion --install"),
        ("print the bash script (e.g. to try it now)", "jobtui completion bash"),
        ("install the fish one", "jobtui completion fish --install"),
    ),
    "runners": (
        ("the runners on this database, their jobs and heartbeats", "jobtui runners"),
        ("the same as JSON", "jobtui runners --json"),
        ("ask the runner gpu-1 to hand its jobs back and exit", "jobtui runners stop gpu-1"),
    ),
    "service": (
        ("run `jobtui run` as a systemd user service (launchd on macOS), 8 jobs at once", "jobtui service install -- --concurrency 8"),
        ("is it installed, enabled, running?", "jobtui service status"),
        ("stop it and remove its unit", "jobtui service uninstall"),
    ),
    "service install": (
        ("a service for this database, restarted when it fails", "jobtui --db ~/jobs.db service install"),
        ("a second one, for GPU jobs, with its run options after --", "jobtui service install --name gpu -- --tag gpu --grace 2m"),
        ("only print the unit it would write", "jobtui service install --print"),
    ),
    "service status": (
        ("the default service (named jobtui)", "jobtui service status"),
        ("the one named gpu", "jobtui service status --name gpu"),
    ),
    "service uninstall": (
        ("stop, disable and remove the default service", "jobtui service uninstall"),
        ("the one named gpu", "jobtui service uninstall --name gpu"),
    ),
    "runners stop": (
        ("ask one runner (any host of the fleet) to hand its jobs back and exit 0", "jobtui runners stop gpu-1"),
        ("stop every runner of the database and wait until they have exited", "jobtui runners stop --all --wait"),
        ("give up waiting after a minute (exit 3)", "jobtui runners stop build-2 --wait --timeout 1m"),
    ),
}
"""Each command's examples; `""` is `jobtui --help` itself."""
