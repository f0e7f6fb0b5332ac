import { describe, expect, it } from "vitest";
import {
  canonicalizedQuery,
  percentEncode,
  rpcSignature,
  rpcStringToSign,
  signedRpcQuery,
} from "../../src/channels/sms/aliyun-signature";

// "Signature mechanism" for RPC APIs (help.aliyun.com, e.g. document 145075): ECS DescribeRegions
// signed with AccessKey secret "testsecret".
const describeRegions = {
  AccessKeyId: "testid",
  Action: "DescribeRegions",
  Format: "XML",
  SignatureMethod: "HMAC-SHA1",
  SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
  SignatureVersion: "1.0",
  Timestamp: "2016-02-23T12:46:24Z",
  Version: "2014-05-26",
};

// The SMS documentation's own example ("HTTP协议及签名", help.aliyun.com document 56189): SendSms
// with a Chinese sign name, signed with AccessKey secret "testSecret".
const sendSms = {
  AccessKeyId: "testId",
  Action: "SendSms",
  Format: "XML",
  OutId: "123",
  PhoneNumbers: "15300000001",
  RegionId: "cn-hangzhou",
  SignName: "阿里云短信测试专用",
  SignatureMethod: "HMAC-SHA1",
  SignatureNonce: "45e25e9b-0a6f-4070-8c85-2956eda1b466",
  SignatureVersion: "1.0",
  TemplateCode: "SMS_71390007",
  TemplateParam: '{"customer":"test"}',
  Timestamp: "2017-07-12T02:42:19Z",
  Version: "2017-05-25",
};

describe("Aliyun RPC signature", () => {
  it("reproduces the published DescribeRegions example", async () => {
    expect(rpcStringToSign("GET", describeRegions)).toBe(
      "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML" +
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" +
        "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
    );
    expect(await rpcSignature("GET", describeRegions, "testsecret")).toBe(
      "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
    );
  });

  it("reproduces the older copy of that example, which spells the parameter TimeStamp", async () => {
    // The signature in the documentation's overview URL (CT9X0V…) comes from this spelling.
    const { Timestamp, ...rest } = describeRegions;
    expect(await rpcSignature("GET", { ...rest, TimeStamp: Timestamp }, "testsecret")).toBe(
      "CT9X0VtwR86fNWSnsc6v8YGOjuE=",
    );
  });

  it("reproduces the SMS documentation's SendSms example, Chinese sign name included", async () => {
    expect(rpcStringToSign("GET", sendSms)).toBe(
      "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123" +
        "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou" +
        "%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1" +
        "%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8" +
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466" +
        "%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007" +
        "%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D" +
        "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25",
    );
    expect(await rpcSignature("GET", sendSms, "testSecret")).toBe("zJDF+Lrzhj/ThnlvIToysFRq6t4=");
    expect(await signedRpcQuery("GET", sendSms, "testSecret")).toBe(
      "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001" +
        "&RegionId=cn-hangzhou" +
        "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8" +
        "&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466" +
        "&SignatureVersion=1.0&TemplateCode=SMS_71390007" +
        "&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z" +
        "&Version=2017-05-25&Signature=zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D",
    );
  });

  it("signs the method too, so a POST and a GET of the same parameters differ", async () => {
    expect(rpcStringToSign("POST", sendSms).startsWith("POST&%2F&AccessKeyId%3DtestId%26")).toBe(
      true,
    );
    expect(await rpcSignature("POST", sendSms, "testSecret")).not.toBe(
      "zJDF+Lrzhj/ThnlvIToysFRq6t4=",
    );
  });

  it("percent-encodes only outside A-Z a-z 0-9 - _ . ~, with %20 for a space", () => {
    expect(percentEncode("AZaz09-_.~")).toBe("AZaz09-_.~");
    expect(percentEncode("a b+c*d/e")).toBe("a%20b%2Bc%2Ad%2Fe");
    expect(percentEncode("!'()")).toBe("%21%27%28%29");
    expect(percentEncode("验证码=1&x")).toBe("%E9%AA%8C%E8%AF%81%E7%A0%81%3D1%26x");
    expect(percentEncode("\ud800")).toBe("%EF%BF%BD");
  });

  it("sorts the parameters by name and leaves Signature out", () => {
    expect(canonicalizedQuery({ b: "2", Signature: "old", a: "1", B: "3" })).toBe("B=3&a=1&b=2");
  });
});
