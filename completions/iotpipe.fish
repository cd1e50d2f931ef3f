# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_iotpipe_global_optspecs
    string join \n config= o/output= v/verbose q/quiet color= no-color profile= region= endpoint-url= h/help V/version
end

function __fish_iotpipe_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_iotpipe_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_iotpipe_using_subcommand
    set -l cmd (__fish_iotpipe_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c iotpipe -n "__fish_iotpipe_needs_command" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s q -l quiet -d 'Only errors on stderr: no progress, no summaries'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "sense" -d 'Read the Sense HAT (or the simulator) and print readings'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "config" -d 'Inspect the effective configuration'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "generate-assets" -d 'Regenerate the checked-in completions and man pages under DIR'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l seed -d 'Seed for --sim: the same seed gives the same values [default: random]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s n -l count -d 'Number of readings [default: 1, or endless with --every]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l every -d 'Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and without this flag, readings are produced at once, stamped DUR apart' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l device-id -d 'Device id written into each reading (config device_id, default: hostname)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l start -d 'Simulated clock start for --sim (RFC 3339), making timestamps reproducible too' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l bus -d 'I2C bus number of the Sense HAT (config sense.bus)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l sim -d 'Simulated readings instead of the Sense HAT (deterministic with --seed)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l imu -d 'Include the simulated IMU (accelerometer, gyroscope, magnetometer, orientation)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s q -l quiet -d 'Only errors on stderr: no progress, no summaries'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Only errors on stderr: no progress, no summaries'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print every key, its effective value and its source (default, file, env or flag)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr: no progress, no summaries'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print every key, its effective value and its source (default, file, env or flag)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr: no progress, no summaries'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -s q -l quiet -d 'Only errors on stderr: no progress, no summaries'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from sense config completions generate-assets help" -f -a "sense" -d 'Read the Sense HAT (or the simulator) and print readings'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from sense config completions generate-assets help" -f -a "config" -d 'Inspect the effective configuration'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from sense config completions generate-assets help" -f -a "completions" -d 'Print a shell completion script'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from sense config completions generate-assets help" -f -a "generate-assets" -d 'Regenerate the checked-in completions and man pages under DIR'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from sense config completions generate-assets help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print every key, its effective value and its source (default, file, env or flag)'
