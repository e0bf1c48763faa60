# Included from the top-level CMakeLists so protoc's proto path is the repo root: generated files
# land in ${CMAKE_BINARY_DIR}/proto and are included as "proto/x.pb.h".
set(TDS_PROTOS
  proto/envelope.proto
  proto/ledger.proto
  proto/genesis.proto
  proto/config.proto
  proto/ledger_service.proto
  proto/evidence.proto
  proto/governance.proto
  proto/catalog.proto
  proto/contracts.proto
  proto/query_service.proto
  proto/compute_service.proto
  proto/enclave_service.proto
  proto/node_service.proto
  proto/consensus.proto
)
add_library(tds_proto STATIC ${TDS_PROTOS})
target_link_libraries(tds_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
protobuf_generate(TARGET tds_proto LANGUAGE cpp
  IMPORT_DIRS ${CMAKE_SOURCE_DIR} PROTOC_OUT_DIR ${CMAKE_BINARY_DIR})
protobuf_generate(TARGET tds_proto LANGUAGE grpc
  GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
  PLUGIN "protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>"
  IMPORT_DIRS ${CMAKE_SOURCE_DIR} PROTOC_OUT_DIR ${CMAKE_BINARY_DIR})
