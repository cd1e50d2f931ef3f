# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_iotpipe_global_optspecs
    string join \n config= o/output= verbose v quiet q color= no-color log-format= profile= region= endpoint-url= h/help V/version
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
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s v
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s q
complete -c iotpipe -n "__fish_iotpipe_needs_command" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "up" -d 'Run the whole pipeline on this machine, no cloud account needed'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "sense" -d 'Read the Sense HAT (or the simulator) and print readings'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "publish" -d 'Publish readings or lines over MQTT, counting every acknowledgement'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "tail" -d 'Follow the stream: MQTT topics, a Kinesis stream, or objects as they land'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "sink" -d 'Land MQTT payloads as Firehose-style raw objects, counted exactly once'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "counters" -d 'Show pending objects and batches; --reconcile checks them against the store'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "compact" -d 'Compact full batches of raw objects into Parquet, exactly once'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "refresh-dashboard" -d 'Rebuild the local HTML dashboard, or refresh the QuickSight datasets'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "lambda" -d 'The AWS Lambda handler: count S3 objects once, claim and compact batches'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "device" -d 'A fleet on AWS IoT Core: a device\'s key and CSR; add, list and remove things'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "doctor" -d 'Check config, Sense HAT, broker and AWS set-up; print the fix for each failure'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "config" -d 'Inspect the effective configuration'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "generate-assets" -d 'Regenerate the checked-in completions and man pages under DIR'
complete -c iotpipe -n "__fish_iotpipe_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l data-dir -d 'Data directory (config data_dir)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l rate -d 'Readings per second per device [default: 1 / sense.every]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l devices -d 'Number of simulated devices; 0: only what other publishers send to the broker' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l duration -d 'Stop after this long, e.g. 30s or 10m [default: until Ctrl-C]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l broker -d 'Use this MQTT broker instead of the embedded one (HOST:PORT)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l listen -d 'Address the embedded broker listens on, at mqtt.port; 0.0.0.0 accepts devices on the network (plain MQTT, no authentication) [default: 127.0.0.1]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l drain-timeout -d 'At the stop, how long to wait for every acknowledged reading to reach the sink' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l seed -d 'Seed of the simulated devices [default: random]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l http -d 'Serve the live dashboard at /, /metrics and /healthz on ADDR:PORT, or `off` (config http.listen) [default: 127.0.0.1, a free port]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l sense -d 'Read the Sense HAT (sense.bus) as the one device, instead of simulators: the whole pipeline on the Raspberry Pi'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand up" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l replay -d 'Recorded readings: a file of schema v1 JSON lines, validated line by line' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l seed -d 'Seed for --sim: the same seed gives the same values [default: random]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s n -l count -d 'Number of readings [default: 1, endless with --every, all of --replay]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l every -d 'Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and without this flag, readings are produced at once, stamped DUR apart' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l device-id -d 'Device id written into each reading (config device_id, default: hostname)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l start -d 'Simulated clock start for --sim (RFC 3339), making timestamps reproducible too' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l bus -d 'I2C bus number of the Sense HAT (config sense.bus)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l cpu-heat-factor -d 'Correct the temperature for CPU heat: t - (t_cpu - t) / F, 1.5 is common (config sense.cpu_heat_factor); the raw value goes to temperature_raw_c' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l sim -d 'Simulated readings instead of the Sense HAT (deterministic with --seed)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l probe -d 'List the Sense HAT\'s chips: address, chip, expected and actual WHO_AM_I, status'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l raw -d 'Show the raw registers and calibration constants next to the converted values'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l imu -d 'Include the simulated IMU (accelerometer, gyroscope, magnetometer, orientation)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sense" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s h -l host -d 'Broker host (config mqtt.host)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s p -l port -d 'Broker port (config mqtt.port)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s i -l client-id -d 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s u -l username -d 'Username (config mqtt.username)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s P -l password -d 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l cafile -d 'CA certificates (PEM) that signed the broker\'s certificate; turns TLS on' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l cert -d 'Client certificate (PEM), e.g. the IoT Core device certificate' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l key -d 'Private key (PEM) of the client certificate' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s V -l protocol-version -d 'MQTT protocol version, as mosquitto\'s -V: iotpipe speaks 3.1.1 (mqttv311)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l http -d 'Serve /metrics (OpenMetrics) and /healthz on ADDR:PORT, port 0 for any free one (config http.listen)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l will-topic -d 'Status topic: the broker publishes --will-payload there when this device vanishes (config mqtt.will_topic)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l will-payload -d 'The will\'s payload (config mqtt.will_payload, default "offline")' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l will-qos -d 'The will\'s QoS, 0 or 1 (config mqtt.will_qos, default 1)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l will-retain -d 'Retain the will and the birth message (config mqtt.will_retain, default true)' -r -f -a "true\t''
false\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l birth-payload -d 'Published to the status topic on every connection, e.g. "online" (config mqtt.birth_payload)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s t -l topic -d 'Topic to publish to (config mqtt.topic)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s q -l qos -d 'QoS 0 or 1 (config mqtt.qos); 1 counts a PUBACK per message' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l max-inflight -d 'Unacknowledged QoS 1 messages in flight (config mqtt.max_inflight)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s m -l message -d 'Publish one message' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l file -d 'Publish each line of FILE as one message' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l replay -d 'Publish recorded readings: JSON lines of schema v1, each validated (paced by --rate if given)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l seed -d 'Seed for --sim [default: random]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l device-id -d 'Device id in readings (config device_id)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l rate -d 'Messages per second [default: 1 / sense.every for the Sense HAT and --sim; as fast as acknowledged for lines]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l count -d 'Stop after N messages [default: all lines; endless for sensors]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l outbox -d 'Keep messages in this durable outbox until acknowledged [default: on for sensors and --sim, in outbox.dir]' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l retry-for -d 'Give up after the broker is unreachable this long, e.g. 30s [default: 30s; never with an outbox]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l alpn -d 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l tls -d 'TLS even without certificate flags (verified against the system\'s CAs)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l iot-core -d 'Enforce AWS IoT Core\'s limits [default: when the host ends in .amazonaws.com]'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l help -d 'Print help'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l sigv4 -d 'AWS IoT Core over WebSockets on 443, signed with your AWS credentials (profile, SSO, environment) instead of a device certificate'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s r -l retain -d 'Retain each message: the broker keeps the last for new subscribers'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -s l -l stdin-lines -d 'Publish each line of stdin as one message (like mosquitto_pub -l)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l sim -d 'Publish simulated readings instead of the Sense HAT\'s'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l imu -d 'Include the simulated IMU in --sim readings'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l no-outbox -d 'No outbox, even for sensors'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand publish" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -f -a "mqtt" -d 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -f -a "kinesis" -d 'Print records from a Kinesis data stream: every shard, following reshards'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -f -a "objects" -d 'Print raw objects as they land in the local store (key, size, rows)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -f -a "s3" -d 'Print objects as they land in S3 (key, size, rows); needs aws.bucket'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and not __fish_seen_subcommand_from mqtt kinesis objects s3 help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s h -l host -d 'Broker host (config mqtt.host)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s p -l port -d 'Broker port (config mqtt.port)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s i -l client-id -d 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s u -l username -d 'Username (config mqtt.username)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s P -l password -d 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l cafile -d 'CA certificates (PEM) that signed the broker\'s certificate; turns TLS on' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l cert -d 'Client certificate (PEM), e.g. the IoT Core device certificate' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l key -d 'Private key (PEM) of the client certificate' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s V -l protocol-version -d 'MQTT protocol version, as mosquitto\'s -V: iotpipe speaks 3.1.1 (mqttv311)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s t -l topic -d 'Topic filter, repeatable; + and # wildcards [default: mqtt.topic]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s q -l qos -d 'Subscription QoS 0 or 1' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s C -l count -d 'Exit after N messages' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s W -l timeout -d 'Exit with code 4 after this long without a message (seconds, or e.g. 500ms, 2m)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s F -l format -d 'Print each message in this format, as mosquitto_sub -F does: %t %p %q %r %l %m %x %I %U %j %% and \\n \\t escapes' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l payload -d 'Show payloads as received, or as hex or base64 for binary ones' -r -f -a "raw\t''
hex\t''
base64\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s T -l filter-out -d 'Do not print messages on topics this filter matches; repeatable' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l alpn -d 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l tls -d 'TLS even without certificate flags (verified against the system\'s CAs)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l iot-core -d 'Enforce AWS IoT Core\'s limits [default: when the host ends in .amazonaws.com]'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l help -d 'Print help'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s v -l show-topic -d 'Print the topic too; with -o jsonl, one object per message with its topic, qos, retain flag, receive time and payload (parsed when JSON)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -s R -l no-retained -d 'Skip retained messages (those the broker kept from before)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l sigv4 -d 'AWS IoT Core over WebSockets on 443, signed with your AWS credentials (profile, SSO, environment) instead of a device certificate'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from mqtt" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l stream -d 'Stream name [default: kinesis.stream]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l from -d 'Where to start: latest, trim-horizon, or at-timestamp TIME (RFC 3339, e.g. 2026-11-26T10:00:00Z, or a duration ago, e.g. 15m) [default: latest]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -s C -l count -d 'Exit after N records' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -s W -l timeout -d 'Exit with code 4 after this long without a record (seconds, or e.g. 500ms, 2m)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l until -d 'Stop at records that arrived after TIME (RFC 3339, or a duration ago, e.g. 5m), or at `latest`: what the stream holds now, then exit 0' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l shard -d 'Read only this shard (e.g. shardId-000000000000); repeatable' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -s v -l show-shard -d 'Print the shard too; with -o jsonl, one object per record with its shard, sequence number, partition key, arrival time and payload'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from kinesis" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l data-dir -d 'Data directory (config data_dir)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -s C -l count -d 'Exit after N objects' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -s W -l timeout -d 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l poll -d 'How often to look for new objects [default: 500ms locally, 2s on S3]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l existing -d 'Also print the objects already there when starting'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from objects" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l prefix -d 'Area of the bucket layout to follow (raw/, rejected/ or compacted/; mapped through aws.*_prefix)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -s C -l count -d 'Exit after N objects' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -s W -l timeout -d 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l poll -d 'How often to look for new objects [default: 500ms locally, 2s on S3]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l existing -d 'Also print the objects already there when starting'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from s3" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from help" -f -a "mqtt" -d 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from help" -f -a "kinesis" -d 'Print records from a Kinesis data stream: every shard, following reshards'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from help" -f -a "objects" -d 'Print raw objects as they land in the local store (key, size, rows)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from help" -f -a "s3" -d 'Print objects as they land in S3 (key, size, rows); needs aws.bucket'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand tail; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s h -l host -d 'Broker host (config mqtt.host)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s p -l port -d 'Broker port (config mqtt.port)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s i -l client-id -d 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s u -l username -d 'Username (config mqtt.username)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s P -l password -d 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l cafile -d 'CA certificates (PEM) that signed the broker\'s certificate; turns TLS on' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l cert -d 'Client certificate (PEM), e.g. the IoT Core device certificate' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l key -d 'Private key (PEM) of the client certificate' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s V -l protocol-version -d 'MQTT protocol version, as mosquitto\'s -V: iotpipe speaks 3.1.1 (mqttv311)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s t -l topic -d 'Topic filter to land, repeatable [default: mqtt.topic]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l data-dir -d 'Data directory: raw/, rejected/, the counter and the journal (config data_dir)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l buffer-bytes -d 'Write an object once this many bytes are buffered (config sink.buffer_bytes)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l buffer-interval -d 'Write an object at least this often, e.g. 60s (config sink.buffer_interval)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l http -d 'Serve /metrics (OpenMetrics) and /healthz on ADDR:PORT, port 0 for any free one (config http.listen)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l alpn -d 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l tls -d 'TLS even without certificate flags (verified against the system\'s CAs)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l iot-core -d 'Enforce AWS IoT Core\'s limits [default: when the host ends in .amazonaws.com]'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l help -d 'Print help'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l gzip -d 'gzip the raw objects (config sink.gzip, default true)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l no-gzip -d 'Plain newline-delimited JSON objects'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand sink" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l data-dir -d 'Data directory holding the store and the counter (config data_dir)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l reconcile -d 'Compare the counter with a listing of raw/: objects never counted, and counted objects that are gone. Exit 3 when they disagree'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l fix -d 'With --reconcile: record the objects the counter never saw'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l init -d 'Create the counter\'s DynamoDB table (backend = "aws"); SQLite needs no set-up'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand counters" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l engine -d 'Compaction engine' -r -f -a "local\t'arrow + parquet in this process (reads and writes the configured store)'
athena\t'INSERT INTO the Parquet table, run by Athena (needs backend = "aws")'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l batch -d 'Only this batch (claimed, failed, or compacted with raw objects left)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l threads -d 'Threads parsing raw objects [default: one per core]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l data-dir -d 'Data directory (config data_dir)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l fail-point -d 'Crash on purpose at this point (for crash-recovery tests)' -r -f -a "after-write\t'After the Parquet files are written, before marking'
after-mark\t'After marking the batch compacted, before deleting raw objects'
after-first-delete\t'After deleting the first raw object'
stop-after-write\t'After writing, the process stops itself (SIGSTOP) as a laptop lid or Ctrl-Z would, until something sends it SIGCONT'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l all -d 'Also compact the pending objects that do not fill a batch'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l dry-run -d 'Print the plan (batches, objects, bytes; with Athena the SQL and the estimated scan and cost) without changing anything'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l init -d 'Create the Athena database and tables (IF NOT EXISTS); with --dry-run, print their DDL'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand compact" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l dataset -d 'QuickSight dataset to refresh, repeatable [default: quicksight.datasets]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l timeout -d 'Stop waiting after this long; the ingestions go on (exit 4)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l schedule -d 'Set the datasets\' refresh schedule instead of refreshing now [default: quicksight.schedule]' -r -f -a "hourly\t''
daily\t''
off\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l account-id -d 'AWS account id [default: quicksight.account_id, else from STS]' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l out -d 'Output directory of the HTML dashboard (config dashboard.out, default <data_dir>/dashboard)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l data-dir -d 'Data directory (config data_dir)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l serve -d 'Serve the live HTML dashboard on ADDR:PORT until Ctrl-C, e.g. 127.0.0.1:8080' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l local -d 'Build the local HTML dashboard even when QuickSight datasets are configured'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l wait -d 'Wait until every ingestion ends and report its rows; exit 0 only if all completed'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l list -d 'List the account\'s datasets and their last ingestion'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand refresh-dashboard" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l event -d 'Handle this event once (a JSON file, - for stdin) instead of serving the Lambda runtime API' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand lambda" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -f -a "csr" -d 'Make this device\'s private key (once, 0600, under data_dir) and print a certificate signing request for `device add`'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -f -a "add" -d 'Register a device on IoT Core: its thing, a certificate from its CSR, attached exclusively to the thing and to the fleet policy'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -f -a "list" -d 'List the things: certificate, its status and expiry, the newest reading'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -f -a "remove" -d 'Detach, deactivate and delete a device\'s certificate, and delete its thing'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and not __fish_seen_subcommand_from csr add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l name -d 'The thing name, the certificate\'s common name (config device_id)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l data-dir -d 'Data directory the key is kept under (config data_dir)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l out -d 'Write the request to FILE instead of stdout' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from csr" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l csr -d 'The request `iotpipe device csr` printed on the device' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l policy -d 'The fleet\'s IoT policy (config aws.device_policy; the stack\'s DevicePolicy output)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l out -d 'Where to write the certificate [default: NAME.pem.crt]' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "csr" -d 'Make this device\'s private key (once, 0600, under data_dir) and print a certificate signing request for `device add`'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register a device on IoT Core: its thing, a certificate from its CSR, attached exclusively to the thing and to the fleet policy'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the things: certificate, its status and expiry, the newest reading'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Detach, deactivate and delete a device\'s certificate, and delete its thing'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l only -d 'Only these checks (the configuration is always checked); repeatable' -r -f -a "device\t'The Sense HAT: I2C bus, permissions, chips'
mqtt\t'The broker: TLS files, certificate, reachability'
aws\t'Credentials, bucket, table, Athena, the IoT rule\'s role'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l timeout -d 'How long to wait for the broker and AWS before calling them unreachable' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l mosquitto-conf -d 'The configuration of a mosquitto on this machine, whose queue settings are checked' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -f -a "show" -d 'Print every key, its effective value and its source (default, file, env or flag)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -f -a "init" -d 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack\'s outputs'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and not __fish_seen_subcommand_from show init help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l from-stack -d 'The CloudFormation stack to read (aws cloudformation deploy --stack-name)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l file -d 'Where to write it' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l force -d 'Replace the file if it exists'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print every key, its effective value and its source (default, file, env or flag)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "init" -d 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack\'s outputs'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l config -d 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)' -r -F
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -s o -l output -d 'Output format [default: table on a terminal, jsonl when piped]' -r -f -a "table\t'Aligned columns for people (default on a terminal)'
json\t'One JSON document (an array for lists)'
jsonl\t'One JSON object per line (default when piped)'"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l color -d 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand completions" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
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
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l log-format -d 'Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)' -r -f -a "text\t''
json\t''"
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l profile -d 'AWS named profile (config key aws.profile)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l region -d 'AWS region (config key aws.region)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l endpoint-url -d 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)' -r
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l verbose -d 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l quiet -d 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -l no-color -d 'Same as --color never'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand generate-assets" -s V -l version -d 'Print version'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "up" -d 'Run the whole pipeline on this machine, no cloud account needed'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "sense" -d 'Read the Sense HAT (or the simulator) and print readings'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "publish" -d 'Publish readings or lines over MQTT, counting every acknowledgement'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "tail" -d 'Follow the stream: MQTT topics, a Kinesis stream, or objects as they land'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "sink" -d 'Land MQTT payloads as Firehose-style raw objects, counted exactly once'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "counters" -d 'Show pending objects and batches; --reconcile checks them against the store'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "compact" -d 'Compact full batches of raw objects into Parquet, exactly once'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "refresh-dashboard" -d 'Rebuild the local HTML dashboard, or refresh the QuickSight datasets'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "lambda" -d 'The AWS Lambda handler: count S3 objects once, claim and compact batches'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "device" -d 'A fleet on AWS IoT Core: a device\'s key and CSR; add, list and remove things'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "doctor" -d 'Check config, Sense HAT, broker and AWS set-up; print the fix for each failure'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "config" -d 'Inspect the effective configuration'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "completions" -d 'Print a shell completion script'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "generate-assets" -d 'Regenerate the checked-in completions and man pages under DIR'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and not __fish_seen_subcommand_from up sense publish tail sink counters compact refresh-dashboard lambda device doctor config completions generate-assets help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from tail" -f -a "mqtt" -d 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from tail" -f -a "kinesis" -d 'Print records from a Kinesis data stream: every shard, following reshards'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from tail" -f -a "objects" -d 'Print raw objects as they land in the local store (key, size, rows)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from tail" -f -a "s3" -d 'Print objects as they land in S3 (key, size, rows); needs aws.bucket'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "csr" -d 'Make this device\'s private key (once, 0600, under data_dir) and print a certificate signing request for `device add`'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "add" -d 'Register a device on IoT Core: its thing, a certificate from its CSR, attached exclusively to the thing and to the fleet policy'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "list" -d 'List the things: certificate, its status and expiry, the newest reading'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "remove" -d 'Detach, deactivate and delete a device\'s certificate, and delete its thing'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print every key, its effective value and its source (default, file, env or flag)'
complete -c iotpipe -n "__fish_iotpipe_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "init" -d 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack\'s outputs'
