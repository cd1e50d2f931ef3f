
use builtin;
use str;

set edit:completion:arg-completer[iotpipe] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'iotpipe'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'iotpipe'= {
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand -v 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand -q 'Only errors on stderr: no progress, no summaries'
            cand --quiet 'Only errors on stderr: no progress, no summaries'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand sense 'Read the Sense HAT (or the simulator) and print readings'
            cand config 'Inspect the effective configuration'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Regenerate the checked-in completions and man pages under DIR'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;sense'= {
            cand --seed 'Seed for --sim: the same seed gives the same values [default: random]'
            cand -n 'Number of readings [default: 1, or endless with --every]'
            cand --count 'Number of readings [default: 1, or endless with --every]'
            cand --every 'Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and without this flag, readings are produced at once, stamped DUR apart'
            cand --device-id 'Device id written into each reading (config device_id, default: hostname)'
            cand --start 'Simulated clock start for --sim (RFC 3339), making timestamps reproducible too'
            cand --bus 'I2C bus number of the Sense HAT (config sense.bus)'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --sim 'Simulated readings instead of the Sense HAT (deterministic with --seed)'
            cand --imu 'Include the simulated IMU (accelerometer, gyroscope, magnetometer, orientation)'
            cand -v 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand -q 'Only errors on stderr: no progress, no summaries'
            cand --quiet 'Only errors on stderr: no progress, no summaries'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;config'= {
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand -v 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand -q 'Only errors on stderr: no progress, no summaries'
            cand --quiet 'Only errors on stderr: no progress, no summaries'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Print every key, its effective value and its source (default, file, env or flag)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;config;show'= {
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand -v 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand -q 'Only errors on stderr: no progress, no summaries'
            cand --quiet 'Only errors on stderr: no progress, no summaries'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;config;help'= {
            cand show 'Print every key, its effective value and its source (default, file, env or flag)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;config;help;show'= {
        }
        &'iotpipe;config;help;help'= {
        }
        &'iotpipe;completions'= {
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand -v 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand -q 'Only errors on stderr: no progress, no summaries'
            cand --quiet 'Only errors on stderr: no progress, no summaries'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;generate-assets'= {
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand -v 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces'
            cand -q 'Only errors on stderr: no progress, no summaries'
            cand --quiet 'Only errors on stderr: no progress, no summaries'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;help'= {
            cand sense 'Read the Sense HAT (or the simulator) and print readings'
            cand config 'Inspect the effective configuration'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Regenerate the checked-in completions and man pages under DIR'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;help;sense'= {
        }
        &'iotpipe;help;config'= {
            cand show 'Print every key, its effective value and its source (default, file, env or flag)'
        }
        &'iotpipe;help;config;show'= {
        }
        &'iotpipe;help;completions'= {
        }
        &'iotpipe;help;generate-assets'= {
        }
        &'iotpipe;help;help'= {
        }
    ]
    $completions[$command]
}
