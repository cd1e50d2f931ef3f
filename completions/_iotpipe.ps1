
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'iotpipe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'iotpipe'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'iotpipe' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('sense', 'sense', [CompletionResultType]::ParameterValue, 'Read the Sense HAT (or the simulator) and print readings')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Inspect the effective configuration')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate the checked-in completions and man pages under DIR')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;sense' {
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for --sim: the same seed gives the same values [default: random]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Number of readings [default: 1, or endless with --every]')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Number of readings [default: 1, or endless with --every]')
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and without this flag, readings are produced at once, stamped DUR apart')
            [CompletionResult]::new('--device-id', '--device-id', [CompletionResultType]::ParameterName, 'Device id written into each reading (config device_id, default: hostname)')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'Simulated clock start for --sim (RFC 3339), making timestamps reproducible too')
            [CompletionResult]::new('--bus', '--bus', [CompletionResultType]::ParameterName, 'I2C bus number of the Sense HAT (config sense.bus)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--sim', '--sim', [CompletionResultType]::ParameterName, 'Simulated readings instead of the Sense HAT (deterministic with --seed)')
            [CompletionResult]::new('--imu', '--imu', [CompletionResultType]::ParameterName, 'Include the simulated IMU (accelerometer, gyroscope, magnetometer, orientation)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every key, its effective value and its source (default, file, env or flag)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;config;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every key, its effective value and its source (default, file, env or flag)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;config;help;show' {
            break
        }
        'iotpipe;config;help;help' {
            break
        }
        'iotpipe;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;generate-assets' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace); error backtraces')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;help' {
            [CompletionResult]::new('sense', 'sense', [CompletionResultType]::ParameterValue, 'Read the Sense HAT (or the simulator) and print readings')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Inspect the effective configuration')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate the checked-in completions and man pages under DIR')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;help;sense' {
            break
        }
        'iotpipe;help;config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every key, its effective value and its source (default, file, env or flag)')
            break
        }
        'iotpipe;help;config;show' {
            break
        }
        'iotpipe;help;completions' {
            break
        }
        'iotpipe;help;generate-assets' {
            break
        }
        'iotpipe;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
