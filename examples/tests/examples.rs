//! Runs every example, as a user would, and checks what it does.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../echo.rs"]
mod echo;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../callback.rs"]
mod callback;

#[test]
fn echo_example_runs() {
    echo::main().expect("the echo example succeeds");
}

#[test]
fn callback_example_hears_every_step() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let heard = runtime
        .block_on(callback::run())
        .expect("the callback example succeeds");
    assert_eq!(heard, ["step 1/3", "step 2/3", "step 3/3"]);
    callback::main().expect("and its main succeeds");
}
