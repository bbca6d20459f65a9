// Reads a .mar the way TorchServe's frontend does (ZipUtils.unzip reads a
// ZipInputStream entry by entry) and prints each entry's name and size.
// Run with "java ZipCheck.java FILE"; exits 1 on an exception.

import java.io.FileInputStream;
import java.io.InputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

public class ZipCheck {
    public static void main(String[] args) throws Exception {
        try (InputStream in = new FileInputStream(args[0]);
             ZipInputStream zis = new ZipInputStream(in)) {
            ZipEntry entry;
            byte[] buf = new byte[65536];
            while ((entry = zis.getNextEntry()) != null) {
                long size = 0;
                int n;
                while ((n = zis.read(buf)) > 0) {
                    size += n;
                }
                System.out.println(entry.getName() + " " + size);
            }
        } catch (Exception e) {
            System.out.println("ERROR " + e);
            System.exit(1);
        }
    }
}
