# The web console's in-browser receipt verifier (web/verify.js), checked against the C++
# ledger::VerifyReceipt: tds_receipt_vectors writes receipts (valid and tampered, one per check)
# with the C++ outcome of each, and the Node test asserts that verify.js decides them alike.
# Included from node/console/CMakeLists.txt; paths are relative to this file.

add_executable(tds_receipt_vectors ${CMAKE_CURRENT_LIST_DIR}/receipt_vectors.cc)
# test_util.h (keys, transactions, genesis) reports through gtest's EXPECT_*.
target_link_libraries(tds_receipt_vectors PRIVATE tds_ledger tds_governance tds_common PkgConfig::SODIUM
  GTest::gtest GTest::gmock)

# Fails, never skips, when node is missing (deploy/install-deps.sh installs nodejs).
add_test(NAME console_verify_js_test
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/web/test/run_verify_test.sh
          $<TARGET_FILE_DIR:tds_receipt_vectors> ${CMAKE_SOURCE_DIR})
set_tests_properties(console_verify_js_test PROPERTIES TIMEOUT 300 LABELS unit)
