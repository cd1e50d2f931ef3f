
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
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'v')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'q')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Run the whole pipeline on this machine, no cloud account needed')
            [CompletionResult]::new('sense', 'sense', [CompletionResultType]::ParameterValue, 'Read the Sense HAT (or the simulator) and print readings')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Publish readings or lines over MQTT, counting every acknowledgement')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Follow the stream: MQTT topics, a Kinesis stream, or objects as they land')
            [CompletionResult]::new('sink', 'sink', [CompletionResultType]::ParameterValue, 'Land MQTT payloads as Firehose-style raw objects, counted exactly once')
            [CompletionResult]::new('counters', 'counters', [CompletionResultType]::ParameterValue, 'Show pending objects and batches; --reconcile checks them against the store')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Compact full batches of raw objects into Parquet, exactly once')
            [CompletionResult]::new('refresh-dashboard', 'refresh-dashboard', [CompletionResultType]::ParameterValue, 'Rebuild the local HTML dashboard, or refresh the QuickSight datasets')
            [CompletionResult]::new('lambda', 'lambda', [CompletionResultType]::ParameterValue, 'The AWS Lambda handler: count S3 objects once, claim and compact batches')
            [CompletionResult]::new('device', 'device', [CompletionResultType]::ParameterValue, 'A fleet on AWS IoT Core: a device''s key and CSR; add, list and remove things')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check config, Sense HAT, broker and AWS set-up; print the fix for each failure')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Inspect the effective configuration')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate the checked-in completions and man pages under DIR')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;up' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (config data_dir)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Readings per second per device [default: 1 / sense.every]')
            [CompletionResult]::new('--devices', '--devices', [CompletionResultType]::ParameterName, 'Number of simulated devices; 0: only what other publishers send to the broker')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long, e.g. 30s or 10m [default: until Ctrl-C]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Use this MQTT broker instead of the embedded one (HOST:PORT)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the embedded broker listens on, at mqtt.port; 0.0.0.0 accepts devices on the network (plain MQTT, no authentication) [default: 127.0.0.1]')
            [CompletionResult]::new('--drain-timeout', '--drain-timeout', [CompletionResultType]::ParameterName, 'At the stop, how long to wait for every acknowledged reading to reach the sink')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the simulated devices [default: random]')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'Serve the live dashboard at /, /metrics and /healthz on ADDR:PORT, or `off` (config http.listen) [default: 127.0.0.1, a free port]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--sense', '--sense', [CompletionResultType]::ParameterName, 'Read the Sense HAT (sense.bus) as the one device, instead of simulators: the whole pipeline on the Raspberry Pi')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;sense' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Recorded readings: a file of schema v1 JSON lines, validated line by line')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for --sim: the same seed gives the same values [default: random]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Number of readings [default: 1, endless with --every, all of --replay]')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Number of readings [default: 1, endless with --every, all of --replay]')
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and without this flag, readings are produced at once, stamped DUR apart')
            [CompletionResult]::new('--device-id', '--device-id', [CompletionResultType]::ParameterName, 'Device id written into each reading (config device_id, default: hostname)')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'Simulated clock start for --sim (RFC 3339), making timestamps reproducible too')
            [CompletionResult]::new('--bus', '--bus', [CompletionResultType]::ParameterName, 'I2C bus number of the Sense HAT (config sense.bus)')
            [CompletionResult]::new('--cpu-heat-factor', '--cpu-heat-factor', [CompletionResultType]::ParameterName, 'Correct the temperature for CPU heat: t - (t_cpu - t) / F, 1.5 is common (config sense.cpu_heat_factor); the raw value goes to temperature_raw_c')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--sim', '--sim', [CompletionResultType]::ParameterName, 'Simulated readings instead of the Sense HAT (deterministic with --seed)')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'List the Sense HAT''s chips: address, chip, expected and actual WHO_AM_I, status')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Show the raw registers and calibration constants next to the converted values')
            [CompletionResult]::new('--imu', '--imu', [CompletionResultType]::ParameterName, 'Include the simulated IMU (accelerometer, gyroscope, magnetometer, orientation)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;publish' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Broker host (config mqtt.host)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Broker host (config mqtt.host)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Broker port (config mqtt.port)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Broker port (config mqtt.port)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Username (config mqtt.username)')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'Username (config mqtt.username)')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)')
            [CompletionResult]::new('--cafile', '--cafile', [CompletionResultType]::ParameterName, 'CA certificates (PEM) that signed the broker''s certificate; turns TLS on')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate (PEM), e.g. the IoT Core device certificate')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key (PEM) of the client certificate')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)')
            [CompletionResult]::new('--protocol-version', '--protocol-version', [CompletionResultType]::ParameterName, 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'Serve /metrics (OpenMetrics) and /healthz on ADDR:PORT, port 0 for any free one (config http.listen)')
            [CompletionResult]::new('--will-topic', '--will-topic', [CompletionResultType]::ParameterName, 'Status topic: the broker publishes --will-payload there when this device vanishes (config mqtt.will_topic)')
            [CompletionResult]::new('--will-payload', '--will-payload', [CompletionResultType]::ParameterName, 'The will''s payload (config mqtt.will_payload, default "offline")')
            [CompletionResult]::new('--will-qos', '--will-qos', [CompletionResultType]::ParameterName, 'The will''s QoS, 0 or 1 (config mqtt.will_qos, default 1)')
            [CompletionResult]::new('--will-retain', '--will-retain', [CompletionResultType]::ParameterName, 'Retain the will and the birth message (config mqtt.will_retain, default true)')
            [CompletionResult]::new('--birth-payload', '--birth-payload', [CompletionResultType]::ParameterName, 'Published to the status topic on every connection, e.g. "online" (config mqtt.birth_payload)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Topic to publish to (config mqtt.topic)')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Topic to publish to (config mqtt.topic)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'QoS 0 or 1 (config mqtt.qos); 1 counts a PUBACK per message')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS 0 or 1 (config mqtt.qos); 1 counts a PUBACK per message')
            [CompletionResult]::new('--max-inflight', '--max-inflight', [CompletionResultType]::ParameterName, 'Unacknowledged QoS 1 messages in flight (config mqtt.max_inflight)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Publish one message')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'Publish one message')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Publish each line of FILE as one message')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Publish recorded readings: JSON lines of schema v1, each validated (paced by --rate if given)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for --sim [default: random]')
            [CompletionResult]::new('--device-id', '--device-id', [CompletionResultType]::ParameterName, 'Device id in readings (config device_id)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Messages per second [default: 1 / sense.every for the Sense HAT and --sim; as fast as acknowledged for lines]')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after N messages [default: all lines; endless for sensors]')
            [CompletionResult]::new('--outbox', '--outbox', [CompletionResultType]::ParameterName, 'Keep messages in this durable outbox until acknowledged [default: on for sensors and --sim, in outbox.dir]')
            [CompletionResult]::new('--retry-for', '--retry-for', [CompletionResultType]::ParameterName, 'Give up after the broker is unreachable this long, e.g. 30s [default: 30s; never with an outbox]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS even without certificate flags (verified against the system''s CAs)')
            [CompletionResult]::new('--iot-core', '--iot-core', [CompletionResultType]::ParameterName, 'Enforce AWS IoT Core''s limits [default: when the host ends in .amazonaws.com]')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--sigv4', '--sigv4', [CompletionResultType]::ParameterName, 'AWS IoT Core over WebSockets on 443, signed with your AWS credentials (profile, SSO, environment) instead of a device certificate')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Retain each message: the broker keeps the last for new subscribers')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Retain each message: the broker keeps the last for new subscribers')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Publish each line of stdin as one message (like mosquitto_pub -l)')
            [CompletionResult]::new('--stdin-lines', '--stdin-lines', [CompletionResultType]::ParameterName, 'Publish each line of stdin as one message (like mosquitto_pub -l)')
            [CompletionResult]::new('--sim', '--sim', [CompletionResultType]::ParameterName, 'Publish simulated readings instead of the Sense HAT''s')
            [CompletionResult]::new('--imu', '--imu', [CompletionResultType]::ParameterName, 'Include the simulated IMU in --sim readings')
            [CompletionResult]::new('--no-outbox', '--no-outbox', [CompletionResultType]::ParameterName, 'No outbox, even for sensors')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            break
        }
        'iotpipe;tail' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('mqtt', 'mqtt', [CompletionResultType]::ParameterValue, 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)')
            [CompletionResult]::new('kinesis', 'kinesis', [CompletionResultType]::ParameterValue, 'Print records from a Kinesis data stream: every shard, following reshards')
            [CompletionResult]::new('objects', 'objects', [CompletionResultType]::ParameterValue, 'Print raw objects as they land in the local store (key, size, rows)')
            [CompletionResult]::new('s3', 's3', [CompletionResultType]::ParameterValue, 'Print objects as they land in S3 (key, size, rows); needs aws.bucket')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;tail;mqtt' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Broker host (config mqtt.host)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Broker host (config mqtt.host)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Broker port (config mqtt.port)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Broker port (config mqtt.port)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Username (config mqtt.username)')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'Username (config mqtt.username)')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)')
            [CompletionResult]::new('--cafile', '--cafile', [CompletionResultType]::ParameterName, 'CA certificates (PEM) that signed the broker''s certificate; turns TLS on')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate (PEM), e.g. the IoT Core device certificate')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key (PEM) of the client certificate')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)')
            [CompletionResult]::new('--protocol-version', '--protocol-version', [CompletionResultType]::ParameterName, 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Topic filter, repeatable; + and # wildcards [default: mqtt.topic]')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Topic filter, repeatable; + and # wildcards [default: mqtt.topic]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Subscription QoS 0 or 1')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'Subscription QoS 0 or 1')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Exit after N messages')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit after N messages')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a message (seconds, or e.g. 500ms, 2m)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a message (seconds, or e.g. 500ms, 2m)')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Print each message in this format, as mosquitto_sub -F does: %t %p %q %r %l %m %x %I %U %j %% and \n \t escapes')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Print each message in this format, as mosquitto_sub -F does: %t %p %q %r %l %m %x %I %U %j %% and \n \t escapes')
            [CompletionResult]::new('--payload', '--payload', [CompletionResultType]::ParameterName, 'Show payloads as received, or as hex or base64 for binary ones')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Do not print messages on topics this filter matches; repeatable')
            [CompletionResult]::new('--filter-out', '--filter-out', [CompletionResultType]::ParameterName, 'Do not print messages on topics this filter matches; repeatable')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS even without certificate flags (verified against the system''s CAs)')
            [CompletionResult]::new('--iot-core', '--iot-core', [CompletionResultType]::ParameterName, 'Enforce AWS IoT Core''s limits [default: when the host ends in .amazonaws.com]')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print the topic too; with -o jsonl, one object per message with its topic, qos, retain flag, receive time and payload (parsed when JSON)')
            [CompletionResult]::new('--show-topic', '--show-topic', [CompletionResultType]::ParameterName, 'Print the topic too; with -o jsonl, one object per message with its topic, qos, retain flag, receive time and payload (parsed when JSON)')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'Skip retained messages (those the broker kept from before)')
            [CompletionResult]::new('--no-retained', '--no-retained', [CompletionResultType]::ParameterName, 'Skip retained messages (those the broker kept from before)')
            [CompletionResult]::new('--sigv4', '--sigv4', [CompletionResultType]::ParameterName, 'AWS IoT Core over WebSockets on 443, signed with your AWS credentials (profile, SSO, environment) instead of a device certificate')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            break
        }
        'iotpipe;tail;kinesis' {
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'Stream name [default: kinesis.stream]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Where to start: latest, trim-horizon, or at-timestamp TIME (RFC 3339, e.g. 2026-11-26T10:00:00Z, or a duration ago, e.g. 15m) [default: latest]')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Exit after N records')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit after N records')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a record (seconds, or e.g. 500ms, 2m)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a record (seconds, or e.g. 500ms, 2m)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Stop at records that arrived after TIME (RFC 3339, or a duration ago, e.g. 5m), or at `latest`: what the stream holds now, then exit 0')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Read only this shard (e.g. shardId-000000000000); repeatable')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print the shard too; with -o jsonl, one object per record with its shard, sequence number, partition key, arrival time and payload')
            [CompletionResult]::new('--show-shard', '--show-shard', [CompletionResultType]::ParameterName, 'Print the shard too; with -o jsonl, one object per record with its shard, sequence number, partition key, arrival time and payload')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;tail;objects' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (config data_dir)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Exit after N objects')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit after N objects')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'How often to look for new objects [default: 500ms locally, 2s on S3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--existing', '--existing', [CompletionResultType]::ParameterName, 'Also print the objects already there when starting')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;tail;s3' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Area of the bucket layout to follow (raw/, rejected/ or compacted/; mapped through aws.*_prefix)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Exit after N objects')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit after N objects')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'How often to look for new objects [default: 500ms locally, 2s on S3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--existing', '--existing', [CompletionResultType]::ParameterName, 'Also print the objects already there when starting')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;tail;help' {
            [CompletionResult]::new('mqtt', 'mqtt', [CompletionResultType]::ParameterValue, 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)')
            [CompletionResult]::new('kinesis', 'kinesis', [CompletionResultType]::ParameterValue, 'Print records from a Kinesis data stream: every shard, following reshards')
            [CompletionResult]::new('objects', 'objects', [CompletionResultType]::ParameterValue, 'Print raw objects as they land in the local store (key, size, rows)')
            [CompletionResult]::new('s3', 's3', [CompletionResultType]::ParameterValue, 'Print objects as they land in S3 (key, size, rows); needs aws.bucket')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;tail;help;mqtt' {
            break
        }
        'iotpipe;tail;help;kinesis' {
            break
        }
        'iotpipe;tail;help;objects' {
            break
        }
        'iotpipe;tail;help;s3' {
            break
        }
        'iotpipe;tail;help;help' {
            break
        }
        'iotpipe;sink' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Broker host (config mqtt.host)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Broker host (config mqtt.host)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Broker port (config mqtt.port)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Broker port (config mqtt.port)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Username (config mqtt.username)')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'Username (config mqtt.username)')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)')
            [CompletionResult]::new('--cafile', '--cafile', [CompletionResultType]::ParameterName, 'CA certificates (PEM) that signed the broker''s certificate; turns TLS on')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate (PEM), e.g. the IoT Core device certificate')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key (PEM) of the client certificate')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)')
            [CompletionResult]::new('--protocol-version', '--protocol-version', [CompletionResultType]::ParameterName, 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Topic filter to land, repeatable [default: mqtt.topic]')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Topic filter to land, repeatable [default: mqtt.topic]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory: raw/, rejected/, the counter and the journal (config data_dir)')
            [CompletionResult]::new('--buffer-bytes', '--buffer-bytes', [CompletionResultType]::ParameterName, 'Write an object once this many bytes are buffered (config sink.buffer_bytes)')
            [CompletionResult]::new('--buffer-interval', '--buffer-interval', [CompletionResultType]::ParameterName, 'Write an object at least this often, e.g. 60s (config sink.buffer_interval)')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'Serve /metrics (OpenMetrics) and /healthz on ADDR:PORT, port 0 for any free one (config http.listen)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS even without certificate flags (verified against the system''s CAs)')
            [CompletionResult]::new('--iot-core', '--iot-core', [CompletionResultType]::ParameterName, 'Enforce AWS IoT Core''s limits [default: when the host ends in .amazonaws.com]')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--gzip', '--gzip', [CompletionResultType]::ParameterName, 'gzip the raw objects (config sink.gzip, default true)')
            [CompletionResult]::new('--no-gzip', '--no-gzip', [CompletionResultType]::ParameterName, 'Plain newline-delimited JSON objects')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            break
        }
        'iotpipe;counters' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory holding the store and the counter (config data_dir)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--reconcile', '--reconcile', [CompletionResultType]::ParameterName, 'Compare the counter with a listing of raw/: objects never counted, and counted objects that are gone. Exit 3 when they disagree')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'With --reconcile: record the objects the counter never saw')
            [CompletionResult]::new('--init', '--init', [CompletionResultType]::ParameterName, 'Create the counter''s DynamoDB table (backend = "aws"); SQLite needs no set-up')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;compact' {
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'Compaction engine')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Only this batch (claimed, failed, or compacted with raw objects left)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Threads parsing raw objects [default: one per core]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (config data_dir)')
            [CompletionResult]::new('--fail-point', '--fail-point', [CompletionResultType]::ParameterName, 'Crash on purpose at this point (for crash-recovery tests)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also compact the pending objects that do not fill a batch')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (batches, objects, bytes; with Athena the SQL and the estimated scan and cost) without changing anything')
            [CompletionResult]::new('--init', '--init', [CompletionResultType]::ParameterName, 'Create the Athena database and tables (IF NOT EXISTS); with --dry-run, print their DDL')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;refresh-dashboard' {
            [CompletionResult]::new('--dataset', '--dataset', [CompletionResultType]::ParameterName, 'QuickSight dataset to refresh, repeatable [default: quicksight.datasets]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Stop waiting after this long; the ingestions go on (exit 4)')
            [CompletionResult]::new('--schedule', '--schedule', [CompletionResultType]::ParameterName, 'Set the datasets'' refresh schedule instead of refreshing now [default: quicksight.schedule]')
            [CompletionResult]::new('--account-id', '--account-id', [CompletionResultType]::ParameterName, 'AWS account id [default: quicksight.account_id, else from STS]')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Output directory of the HTML dashboard (config dashboard.out, default <data_dir>/dashboard)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (config data_dir)')
            [CompletionResult]::new('--serve', '--serve', [CompletionResultType]::ParameterName, 'Serve the live HTML dashboard on ADDR:PORT until Ctrl-C, e.g. 127.0.0.1:8080')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Build the local HTML dashboard even when QuickSight datasets are configured')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until every ingestion ends and report its rows; exit 0 only if all completed')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the account''s datasets and their last ingestion')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;lambda' {
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Handle this event once (a JSON file, - for stdin) instead of serving the Lambda runtime API')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;device' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('csr', 'csr', [CompletionResultType]::ParameterValue, 'Make this device''s private key (once, 0600, under data_dir) and print a certificate signing request for `device add`')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Register a device on IoT Core: its thing, a certificate from its CSR, attached exclusively to the thing and to the fleet policy')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the things: certificate, its status and expiry, the newest reading')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Detach, deactivate and delete a device''s certificate, and delete its thing')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;device;csr' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The thing name, the certificate''s common name (config device_id)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory the key is kept under (config data_dir)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the request to FILE instead of stdout')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;device;add' {
            [CompletionResult]::new('--csr', '--csr', [CompletionResultType]::ParameterName, 'The request `iotpipe device csr` printed on the device')
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'The fleet''s IoT policy (config aws.device_policy; the stack''s DevicePolicy output)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the certificate [default: NAME.pem.crt]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;device;list' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;device;remove' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;device;help' {
            [CompletionResult]::new('csr', 'csr', [CompletionResultType]::ParameterValue, 'Make this device''s private key (once, 0600, under data_dir) and print a certificate signing request for `device add`')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Register a device on IoT Core: its thing, a certificate from its CSR, attached exclusively to the thing and to the fleet policy')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the things: certificate, its status and expiry, the newest reading')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Detach, deactivate and delete a device''s certificate, and delete its thing')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;device;help;csr' {
            break
        }
        'iotpipe;device;help;add' {
            break
        }
        'iotpipe;device;help;list' {
            break
        }
        'iotpipe;device;help;remove' {
            break
        }
        'iotpipe;device;help;help' {
            break
        }
        'iotpipe;doctor' {
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these checks (the configuration is always checked); repeatable')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker and AWS before calling them unreachable')
            [CompletionResult]::new('--mosquitto-conf', '--mosquitto-conf', [CompletionResultType]::ParameterName, 'The configuration of a mosquitto on this machine, whose queue settings are checked')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
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
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every key, its effective value and its source (default, file, env or flag)')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack''s outputs')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;config;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;config;init' {
            [CompletionResult]::new('--from-stack', '--from-stack', [CompletionResultType]::ParameterName, 'The CloudFormation stack to read (aws cloudformation deploy --stack-name)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Where to write it')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl when piped]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace the file if it exists')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every key, its effective value and its source (default, file, env or flag)')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack''s outputs')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;config;help;show' {
            break
        }
        'iotpipe;config;help;init' {
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
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
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
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS named profile (config key aws.profile)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (config key aws.region)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'iotpipe;help' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Run the whole pipeline on this machine, no cloud account needed')
            [CompletionResult]::new('sense', 'sense', [CompletionResultType]::ParameterValue, 'Read the Sense HAT (or the simulator) and print readings')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Publish readings or lines over MQTT, counting every acknowledgement')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Follow the stream: MQTT topics, a Kinesis stream, or objects as they land')
            [CompletionResult]::new('sink', 'sink', [CompletionResultType]::ParameterValue, 'Land MQTT payloads as Firehose-style raw objects, counted exactly once')
            [CompletionResult]::new('counters', 'counters', [CompletionResultType]::ParameterValue, 'Show pending objects and batches; --reconcile checks them against the store')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Compact full batches of raw objects into Parquet, exactly once')
            [CompletionResult]::new('refresh-dashboard', 'refresh-dashboard', [CompletionResultType]::ParameterValue, 'Rebuild the local HTML dashboard, or refresh the QuickSight datasets')
            [CompletionResult]::new('lambda', 'lambda', [CompletionResultType]::ParameterValue, 'The AWS Lambda handler: count S3 objects once, claim and compact batches')
            [CompletionResult]::new('device', 'device', [CompletionResultType]::ParameterValue, 'A fleet on AWS IoT Core: a device''s key and CSR; add, list and remove things')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check config, Sense HAT, broker and AWS set-up; print the fix for each failure')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Inspect the effective configuration')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate the checked-in completions and man pages under DIR')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'iotpipe;help;up' {
            break
        }
        'iotpipe;help;sense' {
            break
        }
        'iotpipe;help;publish' {
            break
        }
        'iotpipe;help;tail' {
            [CompletionResult]::new('mqtt', 'mqtt', [CompletionResultType]::ParameterValue, 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)')
            [CompletionResult]::new('kinesis', 'kinesis', [CompletionResultType]::ParameterValue, 'Print records from a Kinesis data stream: every shard, following reshards')
            [CompletionResult]::new('objects', 'objects', [CompletionResultType]::ParameterValue, 'Print raw objects as they land in the local store (key, size, rows)')
            [CompletionResult]::new('s3', 's3', [CompletionResultType]::ParameterValue, 'Print objects as they land in S3 (key, size, rows); needs aws.bucket')
            break
        }
        'iotpipe;help;tail;mqtt' {
            break
        }
        'iotpipe;help;tail;kinesis' {
            break
        }
        'iotpipe;help;tail;objects' {
            break
        }
        'iotpipe;help;tail;s3' {
            break
        }
        'iotpipe;help;sink' {
            break
        }
        'iotpipe;help;counters' {
            break
        }
        'iotpipe;help;compact' {
            break
        }
        'iotpipe;help;refresh-dashboard' {
            break
        }
        'iotpipe;help;lambda' {
            break
        }
        'iotpipe;help;device' {
            [CompletionResult]::new('csr', 'csr', [CompletionResultType]::ParameterValue, 'Make this device''s private key (once, 0600, under data_dir) and print a certificate signing request for `device add`')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Register a device on IoT Core: its thing, a certificate from its CSR, attached exclusively to the thing and to the fleet policy')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the things: certificate, its status and expiry, the newest reading')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Detach, deactivate and delete a device''s certificate, and delete its thing')
            break
        }
        'iotpipe;help;device;csr' {
            break
        }
        'iotpipe;help;device;add' {
            break
        }
        'iotpipe;help;device;list' {
            break
        }
        'iotpipe;help;device;remove' {
            break
        }
        'iotpipe;help;doctor' {
            break
        }
        'iotpipe;help;config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every key, its effective value and its source (default, file, env or flag)')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack''s outputs')
            break
        }
        'iotpipe;help;config;show' {
            break
        }
        'iotpipe;help;config;init' {
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
