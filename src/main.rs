fn main() -> std::process::ExitCode {
    iotpipe::run()
}
