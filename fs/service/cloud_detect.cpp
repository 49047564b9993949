#include "service/cloud_detect.h"

#include <fstream>
#include <functional>

namespace mdfs::service {
namespace {

// The first line of one SMBIOS file, without trailing blanks; "" when unreadable.
std::string field(const std::string& dir, const char* name) {
  std::ifstream in(dir + "/" + name);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\n'))
    line.pop_back();
  return line;
}

bool startsWithNoCase(const std::string& text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

struct Marker {
  Cloud cloud;
  const char* file;
  std::function<bool(const std::string&)> matches;
  const char* why;
};

// Azure first: its vendor strings are those of any Hyper-V guest, its asset tag is not.
const Marker kMarkers[] = {
    {Cloud::azure, "chassis_asset_tag",
     [](const std::string& v) { return v == "7783-7084-3265-9085-8269-3286-77"; },
     "chassis_asset_tag is Azure's"},
    {Cloud::gcp, "product_name", [](const std::string& v) { return v == "Google Compute Engine"; },
     "product_name is Google Compute Engine"},
    {Cloud::gcp, "product_serial",
     [](const std::string& v) { return v.rfind("GoogleCloud-", 0) == 0; },
     "product_serial starts with GoogleCloud-"},
    {Cloud::aws, "bios_vendor", [](const std::string& v) { return v == "Amazon EC2"; },
     "bios_vendor is Amazon EC2"},
    {Cloud::aws, "sys_vendor", [](const std::string& v) { return v == "Amazon EC2"; },
     "sys_vendor is Amazon EC2"},
    {Cloud::aws, "product_uuid", [](const std::string& v) { return startsWithNoCase(v, "ec2"); },
     "product_uuid starts with ec2"},
    {Cloud::ibm, "chassis_asset_tag", [](const std::string& v) { return v == "ibmcloud"; },
     "chassis_asset_tag is ibmcloud"},
    {Cloud::ibm, "chassis_vendor",
     [](const std::string& v) { return v.rfind("IBM:Cloud", 0) == 0; },
     "chassis_vendor is IBM:Cloud"},
};

}  // namespace

Detected detectCloud(const std::string& dmi_dir) {
  for (const Marker& m : kMarkers) {
    if (m.matches(field(dmi_dir, m.file))) {
      return {m.cloud, std::string(m.why) + " (" + dmi_dir + ")"};
    }
  }
  return {Cloud::ibm, "no cloud's SMBIOS marker in " + dmi_dir + " (sys_vendor '" +
                          field(dmi_dir, "sys_vendor") + "'): IBM Cloud assumed"};
}

}  // namespace mdfs::service
