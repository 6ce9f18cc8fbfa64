fn main() -> std::process::ExitCode {
    vippsctl::cli::main()
}
