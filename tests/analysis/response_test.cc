// parseQueryResponse: every answer shape Prometheus (or something in front of it) gives.
#include "analysis/prometheus/response.h"

#include <gtest/gtest.h>

#include <cmath>

namespace canaryd::analysis::prometheus {
namespace {

using Kind = QueryResult::Kind;

QueryResult ok(std::string_view body) { return parseQueryResponse(200, "application/json", body); }

TEST(ParseSampleValue, FloatsAndSpecials) {
  EXPECT_EQ(parseSampleValue("0.05"), 0.05);
  EXPECT_EQ(parseSampleValue("1e-3"), 0.001);
  EXPECT_EQ(parseSampleValue("-2.5"), -2.5);
  EXPECT_EQ(parseSampleValue("42"), 42.0);
  EXPECT_TRUE(std::isnan(*parseSampleValue("NaN")));
  EXPECT_EQ(parseSampleValue("+Inf"), INFINITY);
  EXPECT_EQ(parseSampleValue("-Inf"), -INFINITY);
  EXPECT_EQ(parseSampleValue("Inf"), INFINITY);
  EXPECT_EQ(parseSampleValue(""), std::nullopt);
  EXPECT_EQ(parseSampleValue("+-1"), std::nullopt);
  EXPECT_EQ(parseSampleValue("1.0abc"), std::nullopt);
  EXPECT_EQ(parseSampleValue(" 1"), std::nullopt);
  EXPECT_EQ(parseSampleValue("0x10"), std::nullopt);
}

TEST(ParseQueryResponse, VectorWithOneSeries) {
  auto r = ok(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{},"value":[1700000300,"0.05"]}]}})");
  ASSERT_EQ(r.kind, Kind::kValue) << r.message;
  EXPECT_EQ(r.value, 0.05);
  EXPECT_EQ(r.message, "");
}

TEST(ParseQueryResponse, SpecialValues) {
  for (auto [text, check] : std::vector<std::pair<std::string, std::function<bool(double)>>>{
           {"NaN", [](double v) { return std::isnan(v); }},
           {"+Inf", [](double v) { return v == INFINITY; }},
           {"-Inf", [](double v) { return v == -INFINITY; }}}) {
    auto r = ok(R"({"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"service":"a"},"value":[1.5,")" +
                text + R"("]}]}})");
    ASSERT_EQ(r.kind, Kind::kValue) << text;
    EXPECT_TRUE(check(r.value)) << text;
  }
}

TEST(ParseQueryResponse, Scalar) {
  auto r =
      ok(R"({"status":"success","data":{"resultType":"scalar","result":[1700000300.123,"3"]}})");
  ASSERT_EQ(r.kind, Kind::kValue) << r.message;
  EXPECT_EQ(r.value, 3);
}

TEST(ParseQueryResponse, EmptyVectorIsNoData) {
  auto r = ok(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  EXPECT_EQ(r.kind, Kind::kNoData);
}

TEST(ParseQueryResponse, SeveralSeriesIsAnErrorSayingToAggregate) {
  auto r = ok(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"code":"200","service":"a"},"value":[1,"1"]},
      {"metric":{"code":"500","service":"a"},"value":[1,"2"]},
      {"metric":{"code":"503"},"value":[1,"2"]},
      {"metric":{"code":"504"},"value":[1,"2"]}]}})");
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.message,
            "the query returned 4 series; aggregate them to one (for example sum(...) or "
            "max(...)): {code=\"200\",service=\"a\"}, {code=\"500\",service=\"a\"}, "
            "{code=\"503\"}, ...");
}

TEST(ParseQueryResponse, MatrixAndStringAreErrors) {
  auto m = ok(R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{},"values":[[1,"1"],[2,"2"]]}]}})");
  ASSERT_EQ(m.kind, Kind::kError);
  EXPECT_NE(m.message.find("range vector (matrix)"), std::string::npos) << m.message;
  auto s = ok(R"({"status":"success","data":{"resultType":"string","result":[1,"hello"]}})");
  ASSERT_EQ(s.kind, Kind::kError);
  EXPECT_EQ(s.message, "the query returned a string; a number is needed");
}

TEST(ParseQueryResponse, ErrorEnvelope) {
  struct Case {
    int status;
    const char* type;
  };
  for (auto c : {Case{400, "bad_data"}, Case{422, "execution"}, Case{503, "timeout"},
                 Case{503, "canceled"}, Case{500, "internal"}}) {
    std::string body = std::string(R"({"status":"error","errorType":")") + c.type +
                       R"(","error":"something broke"})";
    auto r = parseQueryResponse(c.status, "application/json", body);
    ASSERT_EQ(r.kind, Kind::kError);
    EXPECT_EQ(r.message, std::string("Prometheus ") + c.type + " error (HTTP " +
                             std::to_string(c.status) + "): something broke");
  }
}

TEST(ParseQueryResponse, PlainText503BeforeReady) {
  auto r = parseQueryResponse(503, "text/plain; charset=utf-8", "Service Unavailable\n");
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.message,
            "Prometheus answered HTTP 503 text/plain; charset=utf-8 with a body that is not JSON "
            "(Invalid value. at offset 0): \"Service Unavailable\"");
}

TEST(ParseQueryResponse, HtmlGarbageAndTruncated) {
  auto html = parseQueryResponse(502, "text/html",
                                 "<html>\n<head><title>502 Bad Gateway</title></head></html>");
  ASSERT_EQ(html.kind, Kind::kError);
  EXPECT_NE(html.message.find("HTTP 502 text/html"), std::string::npos) << html.message;
  EXPECT_NE(html.message.find("\"<html> <head><title>502 Bad Gateway"), std::string::npos)
      << html.message;

  auto truncated = ok(R"({"status":"success","data":{"resultType":"vec)");
  ASSERT_EQ(truncated.kind, Kind::kError);
  EXPECT_NE(truncated.message.find("HTTP 200"), std::string::npos) << truncated.message;
  EXPECT_NE(truncated.message.find("not JSON"), std::string::npos) << truncated.message;

  auto empty = parseQueryResponse(500, "", "");
  EXPECT_EQ(empty.kind, Kind::kError);
  EXPECT_EQ(empty.message, "Prometheus answered HTTP 500 with an empty body");

  auto other = ok(R"({"hello":"world"})");
  EXPECT_EQ(other.kind, Kind::kError);
  EXPECT_NE(other.message.find("not a Prometheus API response"), std::string::npos);

  auto long_body = parseQueryResponse(503, "text/plain", std::string(5000, 'x'));
  EXPECT_LT(long_body.message.size(), 300u);
}

TEST(ParseQueryResponse, MalformedShapes) {
  for (const char* body : {
           R"({"status":"success"})",
           R"({"status":"success","data":{"resultType":"vector","result":{}}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,2]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x"]}]}})",
           R"({"status":"success","data":{"resultType":"scalar","result":"1"}})",
           R"({"status":"success","data":{"resultType":"exemplar","result":[]}})",
           R"({"status":"weird"})",
       }) {
    auto r = ok(body);
    EXPECT_EQ(r.kind, Kind::kError) << body;
    EXPECT_FALSE(r.message.empty()) << body;
  }
  auto native = ok(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{},"histogram":[1,{"count":"1"}]}]}})");
  EXPECT_NE(native.message.find("native histogram"), std::string::npos);
}

TEST(ParseQueryResponse, SuccessWithNon2xxStatusIsAnError) {
  auto r =
      parseQueryResponse(500, "application/json",
                         R"({"status":"success","data":{"resultType":"scalar","result":[1,"1"]}})");
  EXPECT_EQ(r.kind, Kind::kError);
}

TEST(ParseQueryResponse, WarningsAreKept) {
  auto r = ok(R"({"status":"success","warnings":["PromQL info: metric might not be a counter",
      "second"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}})");
  ASSERT_EQ(r.kind, Kind::kValue);
  EXPECT_EQ(r.message, "warnings: PromQL info: metric might not be a counter; second");
  auto e = parseQueryResponse(422, "application/json",
                              R"({"status":"error","errorType":"execution","error":"boom",
                                  "warnings":["w"]})");
  EXPECT_EQ(e.message, "Prometheus execution error (HTTP 422): boom (warnings: w)");
}

TEST(ParseQueryResponse, DeepNestingDoesNotExhaustTheStack) {
  std::string deep(200000, '[');
  auto r = ok(deep);
  EXPECT_EQ(r.kind, Kind::kError);
}

}  // namespace
}  // namespace canaryd::analysis::prometheus
