#include "common/file.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tds {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tds-file-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  size_t EntryCount() const {
    return std::distance(std::filesystem::directory_iterator(path_),
                         std::filesystem::directory_iterator());
  }

 private:
  std::string path_;
};

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

TEST(File, WriteThenReadRoundTripsBinaryContent) {
  TempDir dir;
  const std::string path = dir.File("data.bin");
  const std::string content("a\0b\xff\n", 5);
  ASSERT_TRUE(WriteFileAtomic(path, content).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, content);
}

TEST(File, EmptyFileRoundTrips) {
  TempDir dir;
  const std::string path = dir.File("empty");
  ASSERT_TRUE(WriteFileAtomic(path, "").ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "");
}

TEST(File, LargeContentRoundTrips) {
  TempDir dir;
  const std::string path = dir.File("large");
  std::string content;
  for (int i = 0; i < (3 << 20); ++i) content.push_back(static_cast<char>(i * 131));
  ASSERT_TRUE(WriteFileAtomic(path, content).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, content);
}

TEST(File, AtomicWriteReplacesExistingFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.File("state");
  ASSERT_TRUE(WriteFileAtomic(path, "old content that is longer").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "new").ok());
  EXPECT_EQ(*ReadFile(path), "new");
  EXPECT_EQ(dir.EntryCount(), 1u);
}

TEST(File, ExclusiveWriteNeverReplacesAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.File("key");
  ASSERT_TRUE(WriteFileExclusive(path, "first", 0600).ok());
  EXPECT_EQ(FileMode(path), 0600);
  auto again = WriteFileExclusive(path, "second", 0600);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.message()), ::testing::HasSubstr(path));
  EXPECT_EQ(*ReadFile(path), "first");
  EXPECT_EQ(dir.EntryCount(), 1u);
}

TEST(File, ModeAppliesExactly) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.File("secret"), "s", 0600).ok());
  EXPECT_EQ(FileMode(dir.File("secret")), 0600);
  ASSERT_TRUE(WriteFileAtomic(dir.File("public"), "p").ok());
  EXPECT_EQ(FileMode(dir.File("public")), 0644);
}

TEST(File, RelativePathInCurrentDirectoryWorks) {
  TempDir dir;
  const auto old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.File(""));
  const absl::Status s = WriteFileAtomic("relative.txt", "r");
  std::filesystem::current_path(old_cwd);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(*ReadFile(dir.File("relative.txt")), "r");
}

TEST(File, ReadMissingFileNamesPathAndOsError) {
  TempDir dir;
  const std::string path = dir.File("absent");
  auto read = ReadFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(read.status()), HasSubstr(path));
  EXPECT_THAT(Message(read.status()), HasSubstr("No such file or directory"));
}

TEST(File, ReadDirectoryFailsNamingPath) {
  TempDir dir;
  auto read = ReadFile(dir.File(""));
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(Message(read.status()), HasSubstr("Is a directory"));
}

TEST(File, WriteIntoMissingDirectoryFailsNamingPathAndOsError) {
  TempDir dir;
  const std::string path = dir.File("missing/out.txt");
  absl::Status s = WriteFileAtomic(path, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Message(s), HasSubstr(path));
  EXPECT_THAT(Message(s), HasSubstr("No such file or directory"));
}

}  // namespace
}  // namespace tds
