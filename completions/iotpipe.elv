
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
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand -v 'v'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand -q 'q'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand up 'Run the whole pipeline on this machine, no cloud account needed'
            cand sense 'Read the Sense HAT (or the simulator) and print readings'
            cand publish 'Publish readings or lines over MQTT, counting every acknowledgement'
            cand tail 'Follow the stream: MQTT topics, a Kinesis stream, or objects as they land'
            cand sink 'Land MQTT payloads as Firehose-style raw objects, counted exactly once'
            cand counters 'Show pending objects and batches; --reconcile checks them against the store'
            cand compact 'Compact full batches of raw objects into Parquet, exactly once'
            cand refresh-dashboard 'Rebuild the local HTML dashboard, or refresh the QuickSight datasets'
            cand lambda 'The AWS Lambda handler: count S3 objects once, claim and compact batches'
            cand doctor 'Check config, Sense HAT, broker and AWS set-up; print the fix for each failure'
            cand config 'Inspect the effective configuration'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Regenerate the checked-in completions and man pages under DIR'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;up'= {
            cand --data-dir 'Data directory (config data_dir)'
            cand --rate 'Readings per second per device [default: 1 / sense.every]'
            cand --devices 'Number of simulated devices; 0: only what other publishers send to the broker'
            cand --duration 'Stop after this long, e.g. 30s or 10m [default: until Ctrl-C]'
            cand --broker 'Use this MQTT broker instead of the embedded one (HOST:PORT)'
            cand --listen 'Address the embedded broker listens on, at mqtt.port; 0.0.0.0 accepts devices on the network (plain MQTT, no authentication) [default: 127.0.0.1]'
            cand --drain-timeout 'At the stop, how long to wait for every acknowledged reading to reach the sink'
            cand --seed 'Seed of the simulated devices [default: random]'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --sense 'Read the Sense HAT (sense.bus) as the one device, instead of simulators: the whole pipeline on the Raspberry Pi'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;sense'= {
            cand --replay 'Recorded readings: a file of schema v1 JSON lines, validated line by line'
            cand --seed 'Seed for --sim: the same seed gives the same values [default: random]'
            cand -n 'Number of readings [default: 1, endless with --every, all of --replay]'
            cand --count 'Number of readings [default: 1, endless with --every, all of --replay]'
            cand --every 'Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and without this flag, readings are produced at once, stamped DUR apart'
            cand --device-id 'Device id written into each reading (config device_id, default: hostname)'
            cand --start 'Simulated clock start for --sim (RFC 3339), making timestamps reproducible too'
            cand --bus 'I2C bus number of the Sense HAT (config sense.bus)'
            cand --cpu-heat-factor 'Correct the temperature for CPU heat: t - (t_cpu - t) / F, 1.5 is common (config sense.cpu_heat_factor); the raw value goes to temperature_raw_c'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --sim 'Simulated readings instead of the Sense HAT (deterministic with --seed)'
            cand --probe 'List the Sense HAT''s chips: address, chip, expected and actual WHO_AM_I, status'
            cand --raw 'Show the raw registers and calibration constants next to the converted values'
            cand --imu 'Include the simulated IMU (accelerometer, gyroscope, magnetometer, orientation)'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;publish'= {
            cand -h 'Broker host (config mqtt.host)'
            cand --host 'Broker host (config mqtt.host)'
            cand -p 'Broker port (config mqtt.port)'
            cand --port 'Broker port (config mqtt.port)'
            cand -i 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]'
            cand --client-id 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]'
            cand -u 'Username (config mqtt.username)'
            cand --username 'Username (config mqtt.username)'
            cand -P 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)'
            cand --password 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)'
            cand --cafile 'CA certificates (PEM) that signed the broker''s certificate; turns TLS on'
            cand --cert 'Client certificate (PEM), e.g. the IoT Core device certificate'
            cand --key 'Private key (PEM) of the client certificate'
            cand -V 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)'
            cand --protocol-version 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)'
            cand -t 'Topic to publish to (config mqtt.topic)'
            cand --topic 'Topic to publish to (config mqtt.topic)'
            cand -q 'QoS 0 or 1 (config mqtt.qos); 1 counts a PUBACK per message'
            cand --qos 'QoS 0 or 1 (config mqtt.qos); 1 counts a PUBACK per message'
            cand --max-inflight 'Unacknowledged QoS 1 messages in flight (config mqtt.max_inflight)'
            cand -m 'Publish one message'
            cand --message 'Publish one message'
            cand --file 'Publish each line of FILE as one message'
            cand --replay 'Publish recorded readings: JSON lines of schema v1, each validated (paced by --rate if given)'
            cand --seed 'Seed for --sim [default: random]'
            cand --device-id 'Device id in readings (config device_id)'
            cand --rate 'Messages per second [default: 1 / sense.every for the Sense HAT and --sim; as fast as acknowledged for lines]'
            cand --count 'Stop after N messages [default: all lines; endless for sensors]'
            cand --outbox 'Keep messages in this durable outbox until acknowledged [default: on for sensors and --sim, in outbox.dir]'
            cand --retry-for 'Give up after the broker is unreachable this long, e.g. 30s [default: 30s; never with an outbox]'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --alpn 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443'
            cand --tls 'TLS even without certificate flags (verified against the system''s CAs)'
            cand --iot-core 'Enforce AWS IoT Core''s limits [default: when the host ends in .amazonaws.com]'
            cand --help 'Print help'
            cand --version 'Print version'
            cand -l 'Publish each line of stdin as one message (like mosquitto_pub -l)'
            cand --stdin-lines 'Publish each line of stdin as one message (like mosquitto_pub -l)'
            cand --sim 'Publish simulated readings instead of the Sense HAT''s'
            cand --imu 'Include the simulated IMU in --sim readings'
            cand --no-outbox 'No outbox, even for sensors'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
        }
        &'iotpipe;tail'= {
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand mqtt 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)'
            cand kinesis 'Print records from a Kinesis data stream: every shard, following reshards'
            cand objects 'Print raw objects as they land in the local store (key, size, rows)'
            cand s3 'Print objects as they land in S3 (key, size, rows); needs aws.bucket'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;tail;mqtt'= {
            cand -h 'Broker host (config mqtt.host)'
            cand --host 'Broker host (config mqtt.host)'
            cand -p 'Broker port (config mqtt.port)'
            cand --port 'Broker port (config mqtt.port)'
            cand -i 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]'
            cand --client-id 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]'
            cand -u 'Username (config mqtt.username)'
            cand --username 'Username (config mqtt.username)'
            cand -P 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)'
            cand --password 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)'
            cand --cafile 'CA certificates (PEM) that signed the broker''s certificate; turns TLS on'
            cand --cert 'Client certificate (PEM), e.g. the IoT Core device certificate'
            cand --key 'Private key (PEM) of the client certificate'
            cand -V 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)'
            cand --protocol-version 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)'
            cand -t 'Topic filter, repeatable; + and # wildcards [default: mqtt.topic]'
            cand --topic 'Topic filter, repeatable; + and # wildcards [default: mqtt.topic]'
            cand -q 'Subscription QoS 0 or 1'
            cand --qos 'Subscription QoS 0 or 1'
            cand -C 'Exit after N messages'
            cand --count 'Exit after N messages'
            cand -W 'Exit with code 4 after this long without a message (seconds, or e.g. 500ms, 2m)'
            cand --timeout 'Exit with code 4 after this long without a message (seconds, or e.g. 500ms, 2m)'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --alpn 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443'
            cand --tls 'TLS even without certificate flags (verified against the system''s CAs)'
            cand --iot-core 'Enforce AWS IoT Core''s limits [default: when the host ends in .amazonaws.com]'
            cand --help 'Print help'
            cand --version 'Print version'
            cand -v 'Print the topic too'
            cand --show-topic 'Print the topic too'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
        }
        &'iotpipe;tail;kinesis'= {
            cand --stream 'Stream name [default: kinesis.stream]'
            cand --from 'Where to start: latest, trim-horizon, or at-timestamp TIME (RFC 3339, e.g. 2026-11-26T10:00:00Z, or a duration ago, e.g. 15m) [default: latest]'
            cand -C 'Exit after N records'
            cand --count 'Exit after N records'
            cand -W 'Exit with code 4 after this long without a record (seconds, or e.g. 500ms, 2m)'
            cand --timeout 'Exit with code 4 after this long without a record (seconds, or e.g. 500ms, 2m)'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand -v 'Print the shard too (JSON lines: {"shard": ..., "payload": ...})'
            cand --show-shard 'Print the shard too (JSON lines: {"shard": ..., "payload": ...})'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;tail;objects'= {
            cand --data-dir 'Data directory (config data_dir)'
            cand -C 'Exit after N objects'
            cand --count 'Exit after N objects'
            cand -W 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)'
            cand --timeout 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)'
            cand --poll 'How often to look for new objects [default: 500ms locally, 2s on S3]'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --existing 'Also print the objects already there when starting'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;tail;s3'= {
            cand --prefix 'Area of the bucket layout to follow (raw/, rejected/ or compacted/; mapped through aws.*_prefix)'
            cand -C 'Exit after N objects'
            cand --count 'Exit after N objects'
            cand -W 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)'
            cand --timeout 'Exit with code 4 after this long without a new object (seconds, or e.g. 2m)'
            cand --poll 'How often to look for new objects [default: 500ms locally, 2s on S3]'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --existing 'Also print the objects already there when starting'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;tail;help'= {
            cand mqtt 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)'
            cand kinesis 'Print records from a Kinesis data stream: every shard, following reshards'
            cand objects 'Print raw objects as they land in the local store (key, size, rows)'
            cand s3 'Print objects as they land in S3 (key, size, rows); needs aws.bucket'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;tail;help;mqtt'= {
        }
        &'iotpipe;tail;help;kinesis'= {
        }
        &'iotpipe;tail;help;objects'= {
        }
        &'iotpipe;tail;help;s3'= {
        }
        &'iotpipe;tail;help;help'= {
        }
        &'iotpipe;sink'= {
            cand -h 'Broker host (config mqtt.host)'
            cand --host 'Broker host (config mqtt.host)'
            cand -p 'Broker port (config mqtt.port)'
            cand --port 'Broker port (config mqtt.port)'
            cand -i 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]'
            cand --client-id 'Client id (config mqtt.client_id) [default: derived from the command and device_id: a random suffix for publish and tail, one kept per data dir for sink]'
            cand -u 'Username (config mqtt.username)'
            cand --username 'Username (config mqtt.username)'
            cand -P 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)'
            cand --password 'Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)'
            cand --cafile 'CA certificates (PEM) that signed the broker''s certificate; turns TLS on'
            cand --cert 'Client certificate (PEM), e.g. the IoT Core device certificate'
            cand --key 'Private key (PEM) of the client certificate'
            cand -V 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)'
            cand --protocol-version 'MQTT protocol version, as mosquitto''s -V: iotpipe speaks 3.1.1 (mqttv311)'
            cand -t 'Topic filter to land, repeatable [default: mqtt.topic]'
            cand --topic 'Topic filter to land, repeatable [default: mqtt.topic]'
            cand --data-dir 'Data directory: raw/, rejected/, the counter and the journal (config data_dir)'
            cand --buffer-bytes 'Write an object once this many bytes are buffered (config sink.buffer_bytes)'
            cand --buffer-interval 'Write an object at least this often, e.g. 60s (config sink.buffer_interval)'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --alpn 'TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443'
            cand --tls 'TLS even without certificate flags (verified against the system''s CAs)'
            cand --iot-core 'Enforce AWS IoT Core''s limits [default: when the host ends in .amazonaws.com]'
            cand --help 'Print help'
            cand --version 'Print version'
            cand --gzip 'gzip the raw objects (config sink.gzip, default true)'
            cand --no-gzip 'Plain newline-delimited JSON objects'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
        }
        &'iotpipe;counters'= {
            cand --data-dir 'Data directory holding the store and the counter (config data_dir)'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --reconcile 'Compare the counter with a listing of raw/: objects never counted, and counted objects that are gone. Exit 3 when they disagree'
            cand --fix 'With --reconcile: record the objects the counter never saw'
            cand --init 'Create the counter''s DynamoDB table (backend = "aws"); SQLite needs no set-up'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;compact'= {
            cand --engine 'Compaction engine'
            cand --batch 'Only this batch (claimed, failed, or compacted with raw objects left)'
            cand --threads 'Threads parsing raw objects [default: one per core]'
            cand --data-dir 'Data directory (config data_dir)'
            cand --fail-point 'Crash on purpose at this point (for crash-recovery tests)'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --all 'Also compact the pending objects that do not fill a batch'
            cand --dry-run 'Print the plan (batches, objects, bytes; with Athena the SQL and the estimated scan and cost) without changing anything'
            cand --init 'Create the Athena database and tables (IF NOT EXISTS); with --dry-run, print their DDL'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;refresh-dashboard'= {
            cand --dataset 'QuickSight dataset to refresh, repeatable [default: quicksight.datasets]'
            cand --timeout 'Stop waiting after this long; the ingestions go on (exit 4)'
            cand --schedule 'Set the datasets'' refresh schedule instead of refreshing now [default: quicksight.schedule]'
            cand --account-id 'AWS account id [default: quicksight.account_id, else from STS]'
            cand --out 'Output directory of the HTML dashboard (config dashboard.out, default <data_dir>/dashboard)'
            cand --data-dir 'Data directory (config data_dir)'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --local 'Build the local HTML dashboard even when QuickSight datasets are configured'
            cand --wait 'Wait until every ingestion ends and report its rows; exit 0 only if all completed'
            cand --list 'List the account''s datasets and their last ingestion'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;lambda'= {
            cand --event 'Handle this event once (a JSON file, - for stdin) instead of serving the Lambda runtime API'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;doctor'= {
            cand --only 'Only these checks (the configuration is always checked); repeatable'
            cand --timeout 'How long to wait for the broker and AWS before calling them unreachable'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
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
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Print every key, its effective value and its source (default, file, env or flag)'
            cand init 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack''s outputs'
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
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;config;init'= {
            cand --from-stack 'The CloudFormation stack to read (aws cloudformation deploy --stack-name)'
            cand --file 'Where to write it'
            cand --config 'Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)'
            cand -o 'Output format [default: table on a terminal, jsonl when piped]'
            cand --output 'Output format [default: table on a terminal, jsonl when piped]'
            cand --color 'When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)'
            cand --profile 'AWS named profile (config key aws.profile)'
            cand --region 'AWS region (config key aws.region)'
            cand --endpoint-url 'Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)'
            cand --force 'Replace the file if it exists'
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;config;help'= {
            cand show 'Print every key, its effective value and its source (default, file, env or flag)'
            cand init 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack''s outputs'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;config;help;show'= {
        }
        &'iotpipe;config;help;init'= {
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
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
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
            cand --verbose 'More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces. The short -v works before the command (`iotpipe -v sense`), since commands that mirror mosquitto use -v themselves'
            cand --quiet 'Only errors on stderr: no progress, no summaries. The short -q works before the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub'
            cand --no-color 'Same as --color never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'iotpipe;help'= {
            cand up 'Run the whole pipeline on this machine, no cloud account needed'
            cand sense 'Read the Sense HAT (or the simulator) and print readings'
            cand publish 'Publish readings or lines over MQTT, counting every acknowledgement'
            cand tail 'Follow the stream: MQTT topics, a Kinesis stream, or objects as they land'
            cand sink 'Land MQTT payloads as Firehose-style raw objects, counted exactly once'
            cand counters 'Show pending objects and batches; --reconcile checks them against the store'
            cand compact 'Compact full batches of raw objects into Parquet, exactly once'
            cand refresh-dashboard 'Rebuild the local HTML dashboard, or refresh the QuickSight datasets'
            cand lambda 'The AWS Lambda handler: count S3 objects once, claim and compact batches'
            cand doctor 'Check config, Sense HAT, broker and AWS set-up; print the fix for each failure'
            cand config 'Inspect the effective configuration'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Regenerate the checked-in completions and man pages under DIR'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'iotpipe;help;up'= {
        }
        &'iotpipe;help;sense'= {
        }
        &'iotpipe;help;publish'= {
        }
        &'iotpipe;help;tail'= {
            cand mqtt 'Subscribe to MQTT topics and print what arrives (like mosquitto_sub)'
            cand kinesis 'Print records from a Kinesis data stream: every shard, following reshards'
            cand objects 'Print raw objects as they land in the local store (key, size, rows)'
            cand s3 'Print objects as they land in S3 (key, size, rows); needs aws.bucket'
        }
        &'iotpipe;help;tail;mqtt'= {
        }
        &'iotpipe;help;tail;kinesis'= {
        }
        &'iotpipe;help;tail;objects'= {
        }
        &'iotpipe;help;tail;s3'= {
        }
        &'iotpipe;help;sink'= {
        }
        &'iotpipe;help;counters'= {
        }
        &'iotpipe;help;compact'= {
        }
        &'iotpipe;help;refresh-dashboard'= {
        }
        &'iotpipe;help;lambda'= {
        }
        &'iotpipe;help;doctor'= {
        }
        &'iotpipe;help;config'= {
            cand show 'Print every key, its effective value and its source (default, file, env or flag)'
            cand init 'Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack''s outputs'
        }
        &'iotpipe;help;config;show'= {
        }
        &'iotpipe;help;config;init'= {
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
