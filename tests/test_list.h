/* test_list.h: one X(register_function) per test file. */
X(register_json_tests)
X(register_safetensors_tests)
X(register_data_tests)
X(register_model_tests)
X(register_cli_tests)
X(register_fault_tests)
X(register_signal_tests)
