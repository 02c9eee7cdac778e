# tests/tests.cmake - script tests, included by CMakeLists.txt.
# Tests that need yara (oracle) or ../shared (conformance corpus) exit 77 when those are missing;
# ctest reports them as skipped.
find_program(KENSA_YARA yara)
find_program(KENSA_PYTHON3 NAMES python3 python)

set(KENSA_SHARED_DIR ${CMAKE_SOURCE_DIR}/../shared)
set(KENSA_BIN $<TARGET_FILE:kensa_cli>)

# (a) the YARA behaviour corpus from ../shared/conformance
add_test(NAME conformance
         COMMAND sh -c "if [ ! -f '${KENSA_SHARED_DIR}/conformance/run.py' ]; then echo 'no ../shared/conformance: skipping'; exit 77; fi; \
                        exec '${KENSA_PYTHON3}' '${KENSA_SHARED_DIR}/conformance/run.py' --jobs 2 --scanner '${KENSA_BIN} scan --no-extract'"
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(conformance PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1800)

# (b) the command line, byte for byte against yara
add_test(NAME cli_vs_yara
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli_test.sh ${KENSA_BIN} yara
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(cli_vs_yara PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# (c) a bounded differential run: random rules and data, kensa vs yara
add_test(NAME diff_vs_yara
         COMMAND ${KENSA_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/diff/gen_diff.py
                 --cases 300 --seed 1 --jobs 2 --kensa ${KENSA_BIN}
                 --keep-failures ${CMAKE_BINARY_DIR}/diff-failures
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(diff_vs_yara PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)

# (c2) hex strings with several jumps, kensa's matcher vs yara (tests/re_diff.py): the shape
# where yara's executor drops positions (src/match/re_exec.c, fast_run)
add_test(NAME re_jumps_vs_yara
         COMMAND ${KENSA_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/re_diff.py --kind jumps -n 2000 --seed 1
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(re_jumps_vs_yara PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# (d) replay the fuzz corpus and the regression inputs through the fuzz harness (no libFuzzer)
add_executable(fuzz_replay ${CMAKE_SOURCE_DIR}/fuzz/replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_rules.c)
target_compile_definitions(fuzz_replay PRIVATE _GNU_SOURCE)
target_link_libraries(fuzz_replay PRIVATE kensa)
add_test(NAME fuzz_replay
         COMMAND fuzz_replay ${CMAKE_SOURCE_DIR}/fuzz/corpus ${CMAKE_SOURCE_DIR}/tests/regress)
set_tests_properties(fuzz_replay PROPERTIES TIMEOUT 600)

# (e) the pe module: yara -D vs kensa scan -D on mingw-built fixtures and wine's DLLs
#     (skips with 77 when yara or mingw-w64 is missing)
add_test(NAME pe_vs_yara
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/modules/pe_compare.sh ${KENSA_BIN} 400
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(pe_vs_yara PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# (e) binary-format modules (elf, dotnet, macho, dex; cuckoo's reports): replay their fuzz seeds
# through the file harnesses, and compare `kensa scan -D` with `yara -D` on system files, built files and damaged copies
# (exit 77 = skipped when yara or the inputs are missing).
foreach(m elf dotnet macho dex cuckoo)
  add_executable(fuzz_replay_${m} ${CMAKE_SOURCE_DIR}/fuzz/replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_${m}.c)
  target_compile_definitions(fuzz_replay_${m} PRIVATE _GNU_SOURCE)
  target_link_libraries(fuzz_replay_${m} PRIVATE kensa)
  add_test(NAME fuzz_replay_${m} COMMAND fuzz_replay_${m} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${m})
  set_tests_properties(fuzz_replay_${m} PROPERTIES TIMEOUT 300)
endforeach()
add_test(NAME elf_vs_yara
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/modules/elf_compare.sh ${KENSA_BIN} 250
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(elf_vs_yara PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME dotnet_vs_yara
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/modules/dotnet_compare.sh ${KENSA_BIN} 6
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(dotnet_vs_yara PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# (f) deep extraction: mails built by tests/fixtures/make_mails.py (macro documents in zips,
#     odd MIME, encrypted zip, bombs, deep nesting, corrupt OLE2), expected rule matches on
#     expected object paths, each within 5 s and 512 MB
add_test(NAME extract_mails
         COMMAND ${KENSA_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/extract_test.py ${KENSA_BIN}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(extract_mails PROPERTIES TIMEOUT 300)

# (g) the extractors' fuzz seeds replayed through their harnesses
foreach(m mime archive ole2 rtf pdf xlm msg tnef)
  add_executable(fuzz_replay_extract_${m} ${CMAKE_SOURCE_DIR}/fuzz/replay.c
                 ${CMAKE_SOURCE_DIR}/fuzz/fuzz_extract_${m}.c)
  target_compile_definitions(fuzz_replay_extract_${m} PRIVATE _GNU_SOURCE)
  target_link_libraries(fuzz_replay_extract_${m} PRIVATE kensa)
  add_test(NAME fuzz_replay_extract_${m}
           COMMAND fuzz_replay_extract_${m} ${CMAKE_SOURCE_DIR}/fuzz/corpus/extract_${m})
  set_tests_properties(fuzz_replay_extract_${m} PROPERTIES TIMEOUT 300)
endforeach()
# the compiled-rules loader's fuzz seeds (compiled files, and rule sources saved then mutated:
# fuzz/fuzz_rules_file.c) and its regression inputs, kept in the same directory
add_executable(fuzz_replay_rules_file ${CMAKE_SOURCE_DIR}/fuzz/replay.c
               ${CMAKE_SOURCE_DIR}/fuzz/fuzz_rules_file.c)
target_compile_definitions(fuzz_replay_rules_file PRIVATE _GNU_SOURCE)
target_link_libraries(fuzz_replay_rules_file PRIVATE kensa)
add_test(NAME fuzz_replay_rules_file
         COMMAND fuzz_replay_rules_file ${CMAKE_SOURCE_DIR}/fuzz/corpus/rules_file)
set_tests_properties(fuzz_replay_rules_file PROPERTIES TIMEOUT 300)
# macho and dex: -D and function results vs yara on gen_macho_dex.py files and damaged copies
add_test(NAME macho_dex_vs_yara
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/modules/macho_dex_compare.sh ${KENSA_BIN} 1
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(macho_dex_vs_yara PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
